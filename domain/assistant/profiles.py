"""Which account a sender is: the website accounts a phone reaches (own phone first), and the choice among
several (by number, name or email, or the list's row); the list keeps gaps so numbers keep their meaning.
"""

from __future__ import annotations

from bizzly.errors import Invalid
from domain.assistant import texts
from domain.assistant.hooks import words
from domain.assistant.messages import Choice, Reply
from domain.assistant.turn import Turn, as_uuid
from domain.customers.models import Customer
from domain.customers.service import customer_by_meta_user_id, customers_by_ids
from domain.identity.service import ReachedVia, resolve_e164, resolve_phone

LIST_MAX_ROWS = 10


async def accounts(turn: Turn) -> list[tuple[Customer, ReachedVia]]:
    """The website accounts this sender reaches, own-phone accounts first."""
    found: list[tuple[Customer, ReachedVia]] = []
    try:
        if turn.sender.wa_id:
            resolution = await resolve_phone(
                turn.session, tenant=turn.tenant, raw=turn.sender.wa_id, whatsapp=True
            )
            found = [(a.customer, a.reached_via) for a in resolution.accounts]
        elif turn.sender.phone_e164:
            resolution = await resolve_e164(turn.session, e164=turn.sender.phone_e164)
            found = [(a.customer, a.reached_via) for a in resolution.accounts]
    except Invalid:
        found = []
    if turn.sender.meta_user_id and not any(via is ReachedVia.OWN_PHONE for _, via in found):
        # A verified customer's Meta user id was recorded by a code it received: it counts as its own.
        known = await customer_by_meta_user_id(turn.session, meta_user_id=turn.sender.meta_user_id)
        if known is not None:
            found = [(known, ReachedVia.OWN_PHONE), *[(c, v) for c, v in found if c.id != known.id]]
    return found


async def candidates(turn: Turn) -> list[tuple[Customer | None, ReachedVia]]:
    """The profile list as shown (a deleted account stays as a gap, so numbers keep their meaning)."""
    raw = turn.state.get("candidates") or []
    ids = [as_uuid(item.get("id")) for item in raw if isinstance(item, dict)]
    customers = await customers_by_ids(turn.session, [i for i in ids if i is not None])
    result: list[tuple[Customer | None, ReachedVia]] = []
    for item, customer_id in zip(raw, ids, strict=True):
        via = ReachedVia(item.get("via", ReachedVia.CRM_CONTACT.value))
        result.append((customers.get(customer_id) if customer_id else None, via))
    return result


async def pending_account(turn: Turn) -> tuple[Customer, ReachedVia] | None:
    customer_id = as_uuid(turn.state.get("customer_id"))
    if customer_id is None:
        return None
    customer = (await customers_by_ids(turn.session, [customer_id])).get(customer_id)
    if customer is None:
        return None
    return customer, ReachedVia(turn.state.get("via", ReachedVia.CRM_CONTACT.value))


def profile_list(turn: Turn, candidates: list[tuple[Customer | None, ReachedVia]]) -> Reply:
    lines: list[str] = []
    choices: list[Choice] = []
    for index, (customer, via) in enumerate(candidates):
        if customer is None:
            continue
        email = customer.email if via is ReachedVia.OWN_PHONE else texts.mask_email(customer.email)
        lines.append(f"{index + 1}. {customer.name} ({email})")
        choices.append(
            Choice(id=f"p:{turn.state.get('list')}:{index}", title=customer.name[:24], description=email[:72])
        )
    text = "\n".join([texts.MULTIPLE_ACCOUNTS, "", *lines, "", texts.WHICH_PROFILE])
    if len(choices) <= LIST_MAX_ROWS:
        return Reply(text=text, kind="list", choices=choices)
    return Reply(text=text)


def picked(candidates: list[tuple[Customer | None, ReachedVia]], said: str) -> list[int]:
    """The rows of the shown list that ``said`` names: its number, an email or a (first) name."""
    if said.isdigit():
        number = int(said)
        return [number - 1] if 1 <= number <= len(candidates) else []
    found = [i for i, (c, _) in enumerate(candidates) if c is not None and c.email_key == said]
    return found or [i for i, (c, _) in enumerate(candidates) if c is not None and name_matches(c.name, said)]


def name_matches(name: str, said: str) -> bool:
    full = words(name)
    return said == full or said == (full.split() or [""])[0]
