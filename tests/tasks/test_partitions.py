"""Customer partitions (tasks/partitions.py): whole persons, stable, every customer once."""

from __future__ import annotations

import pandas as pd

from tasks.partitions import assign, count_for


def test_one_persons_customers_at_both_providers_share_a_partition_in_every_process() -> None:
    customers = pd.DataFrame(
        {
            "customer_id": [f"cus_{i}" for i in range(300)] + ["CU_ALICE", "cus_alice"],
            "email": [f"c{i}@example.com" for i in range(300)]
            + [" Alice@Example.com", "alice@example.com"],
        }
    )
    parts = assign(customers, 7)

    assert parts["CU_ALICE"] == parts["cus_alice"]  # same e-mail, any case or spaces
    assert sorted(parts.index) == sorted(customers["customer_id"])  # each customer once
    assert set(parts) == set(range(7))  # 302 persons spread over all 7
    assert parts["cus_0"] == assign(customers.iloc[::-1], 7)["cus_0"]  # not order-bound
    # pandas' fixed-key SipHash, not Python's salted hash(): the same in every process.
    pinned = pd.DataFrame(
        {"customer_id": ["x", "y", "z"], "email": ["a@b.c", "alice@example.com", "BOB@example.com"]}
    )
    assert assign(pinned, 10).tolist() == [1, 1, 7]


def test_a_customer_without_an_email_is_a_person_of_their_own() -> None:
    customers = pd.DataFrame({"customer_id": ["cus_1", "cus_2"], "email": [None, ""]})
    parts = assign(customers, 1)
    assert parts.to_dict() == {"cus_1": 0, "cus_2": 0}


def test_a_shop_up_to_the_size_is_read_in_one_pass() -> None:
    assert count_for(0, 20_000) == 1
    assert count_for(20_000, 20_000) == 1
    assert count_for(20_001, 20_000) == 2
    assert count_for(200_000, 20_000) == 10
