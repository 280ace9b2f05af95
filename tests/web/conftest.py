"""What every web test shares: passwords hashed cheaply in this process."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from auditor.web import accounts


@pytest.fixture(autouse=True)
def quick_passwords(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2 with its cheapest parameters for the accounts these tests make and sign in.

    The app's own (64 MiB, three passes) cost a tenth of a second a hash or a
    sign-in, on purpose; the web tests make and sign in hundreds of accounts.
    The parameters the app stores passwords with are asserted where accounts
    are made by the command line, in a process of its own
    (``test_users_are_made_on_the_command_line_and_none_exists_by_default``).
    """
    monkeypatch.setattr(
        accounts, "_HASHER", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    )
