"""The fault layer: one table of fault kinds (``catalog``), how scenarios spell them
(``spec``), and the injector that applies them to a world (``injector``)."""
