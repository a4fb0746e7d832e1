"""A local sandbox of both providers' list APIs, for tests, the demo and notebooks.

>>> from toolkit.sandbox import Sandbox, SandboxConfig
>>> with Sandbox(SandboxConfig(fault_rate=0.25)) as sandbox:   # doctest: +SKIP
...     print(sandbox.base_url)
"""

from ._data import Conversation, channel_names, make_conversations
from ._endpoints import BRIQ_PATH, WASSIST_PATH
from ._faults import ENCODINGS, FAULTS, SCRIPTED
from ._history import HistoryConfig, SimulatedInbox, simulate_history, write_history
from ._server import CHURN_KINDS, RequestRecord, Sandbox, SandboxConfig

__all__ = ["Sandbox", "SandboxConfig", "RequestRecord", "Conversation", "make_conversations", "channel_names",
           "ENCODINGS", "FAULTS", "SCRIPTED", "CHURN_KINDS", "WASSIST_PATH", "BRIQ_PATH", "HistoryConfig",
           "SimulatedInbox", "simulate_history", "write_history"]
