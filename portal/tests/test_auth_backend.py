"""The authentication backend loads a user's membership with the user, in one query."""

from __future__ import annotations

import pytest

from portal.auth import MembershipBackend

pytestmark = pytest.mark.django_db


def test_a_merchant_user_and_their_merchant_in_one_query(world, django_assert_num_queries) -> None:
    with django_assert_num_queries(1):
        user = MembershipBackend().get_user(world.alice.pk)
        assert user.merchant == world.merchant_a
        assert user.merchant.name == world.merchant_a.name
        assert user.provider is None
        assert user.role == user.Role.MERCHANT


def test_a_technician_and_their_provider_in_one_query(world, django_assert_num_queries) -> None:
    with django_assert_num_queries(1):
        user = MembershipBackend().get_user(world.xavier.pk)
        assert user.provider == world.provider_x
        assert user.merchant is None


def test_a_user_without_membership(world, django_assert_num_queries) -> None:
    with django_assert_num_queries(1):
        user = MembershipBackend().get_user(world.admin.pk)
        assert user.merchant is None
        assert user.provider is None


def test_inactive_or_missing_users_are_not_loaded(world) -> None:
    world.alice.is_active = False
    world.alice.save()
    assert MembershipBackend().get_user(world.alice.pk) is None
    assert MembershipBackend().get_user(10**9) is None


def test_a_page_scopes_by_the_loaded_membership(world, client) -> None:
    client.force_login(world.alice, backend="portal.auth.MembershipBackend")
    response = client.get("/devices/")
    assert response.status_code == 200
    assert world.device_a.serial_number in response.content.decode()


def test_the_next_request_takes_the_user_from_the_cache(world, django_assert_num_queries) -> None:
    MembershipBackend().get_user(world.alice.pk)
    with django_assert_num_queries(0):
        user = MembershipBackend().get_user(world.alice.pk)
        assert user.merchant == world.merchant_a


def test_a_saved_user_membership_or_merchant_is_read_again(world) -> None:
    backend = MembershipBackend()
    backend.get_user(world.alice.pk)
    world.merchant_a.name = "Shop A renamed"
    world.merchant_a.save()
    assert backend.get_user(world.alice.pk).merchant.name == "Shop A renamed"
    world.alice.is_active = False
    world.alice.save()
    assert backend.get_user(world.alice.pk) is None
    backend.get_user(world.xavier.pk)
    membership = world.xavier.membership
    membership.provider = world.provider_y
    membership.save()
    assert backend.get_user(world.xavier.pk).provider == world.provider_y
