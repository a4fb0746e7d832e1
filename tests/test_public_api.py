"""The public surface is pinned: a change to it is a deliberate change to this list."""

import toolkit as tk

CONTRACT_NAMES = {
    "load_wassist", "load_briq", "load_conversations", "SCHEMA", "ToolkitError", "ApiError",
    "AuthenticationError", "ResponseFormatError",
}


def test_contract_names_are_exported():
    assert CONTRACT_NAMES <= set(tk.__all__)
    for name in tk.__all__:
        assert hasattr(tk, name), name


def test_second_round_names_are_exported():
    assert {"check_conversations"} <= set(tk.__all__)
    assert callable(tk.check_conversations)


def test_error_tree():
    assert issubclass(tk.ApiError, tk.ToolkitError)
    assert issubclass(tk.AuthenticationError, tk.ApiError)
    assert issubclass(tk.ResponseFormatError, tk.ToolkitError)
    assert issubclass(tk.PaginationError, tk.ToolkitError)
    assert not issubclass(tk.ResponseFormatError, tk.ApiError)


def test_schema_columns_in_contract_order():
    assert list(tk.SCHEMA) == [
        "provider", "conversation_id", "contact_phone", "contact_name", "channel_id", "is_active",
        "is_human_takeover", "has_unread", "unread_count", "last_message_at", "window_open",
        "window_expires_at", "fetched_at",
    ]
