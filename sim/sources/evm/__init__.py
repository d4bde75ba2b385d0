"""The external EVM chain the eth_deposits listener watches (``[sources.evm]``)."""

from sim.sources.evm.chain import Block as Block
from sim.sources.evm.chain import Chain as Chain
from sim.sources.evm.chain import CreditLog as CreditLog
from sim.sources.evm.chain import Deposit as Deposit
from sim.sources.evm.chain import Reorg as Reorg
from sim.sources.evm.config import EvmConfig as EvmConfig
from sim.sources.evm.rpc import HeadSubscription as HeadSubscription
from sim.sources.evm.rpc import RpcEndpoint as RpcEndpoint
from sim.sources.evm.rpc import RpcError as RpcError
from sim.sources.evm.source import EvmSource as EvmSource

