"""Admin commands: programs, pairing, import and export, reports, audit, admin rights, erasure."""

from __future__ import annotations

import re
from datetime import date

from sqlalchemy import or_
from sqlmodel import col, select

from bot.chat import bulk
from bot.chat.changes import create_pair, drop_pending, end_pair
from bot.chat.registry import command
from bot.chat.turn import NeedLookups, Turn, reply, say
from bot.chat.views import import_form
from bot.content.admin_words import admin_words
from bot.content.journey import JourneyError, builtin, check_text
from bot.content.kinds import PROGRAM_KINDS, PromptKind, stage_for, variant_for
from bot.content.timing import week_index, zone
from bot.domain import csvio, importing, privacy, trends
from bot.model.errors import NotAdmin, UserError
from bot.model.interactions import Response
from bot.model.messages import (
    Attachment,
    Fields,
    Heading,
    MessageBuilder,
    para,
)
from bot.outbox.admin import cancel_admin_digests
from storage.models import (
    AuditLog,
    Pair,
    Person,
    Program,
    Prompt,
)

OPTS = re.compile(r"^--([a-z-]+)$")


def _options(args: list[str]) -> tuple[list[str], dict[str, str]]:
    pos: list[str] = []
    opts: dict[str, str] = {}
    it = iter(args)
    for a in it:
        m = OPTS.match(a)
        if m:
            opts[m.group(1)] = next(it, "")
        else:
            pos.append(a)
    return pos, opts


@command("program", "program create <name> [kind] | list | show <name> | journey <name>", admin=True)
def _program(turn: Turn, args: list[str], raw: str) -> Response:
    turn.require_admin("program")
    sub = args[0].lower() if args else "list"
    if sub == "list":
        progs = turn.session.exec(select(Program).where(
            Program.workspace_id == turn.workspace.id).order_by(Program.id)).all()  # type: ignore[arg-type]
        if not progs:
            return reply("No programs yet. Create one: `program create Pilot sponsorship --weeks 52`.")
        lines = []
        for p in progs:
            n = len(turn.session.exec(select(Pair.id).where(Pair.program_id == p.id, Pair.status == "active")).all())
            lines.append((p.name, f"{p.kind}, {p.length_weeks} weeks from {p.start_date:%d %b %Y}, "
                                  f"{n} active pairs, {p.status}"))
        return Response(reply=MessageBuilder(kind="programs").add(Heading("Programs"), Fields(tuple(lines))).build())
    if sub == "show":
        prog = turn.program(" ".join(args[1:]) or None)
        return Response(reply=trends.report(turn.session, turn.workspace.id, turn.now, prog.name))  # type: ignore[arg-type]
    if sub == "create":
        pos, opts = _options(args[1:])
        if not pos:
            raise UserError("Name the program: `program create <name> [sponsorship|mentoring|reverse-mentoring]`.")
        kind = "sponsorship"
        if len(pos) > 1 and pos[-1].lower() in PROGRAM_KINDS:
            kind = pos.pop().lower()
        name = " ".join(pos)[:100]
        if turn.session.exec(select(Program).where(
            Program.workspace_id == turn.workspace.id,
                                                   Program.name == name)).first():
            raise UserError(f"A program called {name!r} already exists.")
        try:
            weeks = int(opts.get("weeks", str(builtin(kind).default_weeks)))
            start = date.fromisoformat(opts["start"]) if "start" in opts else turn.now.date()
        except ValueError:
            raise UserError("`--weeks` takes a number and `--start` a date like 2026-01-05.") from None
        if not 4 <= weeks <= 156:
            raise UserError("A program runs between 4 and 156 weeks.")
        tz = opts.get("tz") or turn.workspace.default_tz
        if zone(tz).key != tz:
            raise UserError(f"{tz!r} isn't a time zone I know; use an IANA name like Europe/Berlin.")
        prog = Program(workspace_id=turn.workspace.id, name=name, kind=kind, start_date=start, length_weeks=weeks,  # type: ignore[arg-type]
                       default_tz=tz, stale_days=turn.deps.settings.stale_days, created_at=turn.now)
        turn.session.add(prog)
        turn.audit("program.create", name, detail={"kind": kind, "weeks": weeks})
        return reply(f"Created {name} ({kind}, {weeks} weeks). Pair people with `pair @sponsor @sponsoree {name}` "
                     "or paste a CSV with `import`.")
    if sub == "journey":
        return _program_journey(turn, args[1:], raw)
    raise UserError("Use `program create <name> [kind]`, `program list`, `program show <name>` or "
                    "`program journey <name>` with a journey file pasted below it.")


def _program_journey(turn: Turn, args: list[str], raw: str) -> Response:
    """``program journey <name>`` + a journey file on the following lines: validate, then attach.
    ``program journey <name> reset`` goes back to the kind's own journey."""
    first, _, body = raw.partition("\n")
    words = first.split()[1:]
    if not words:
        raise UserError("Use `program journey <name>` and paste the journey file (YAML) on the lines below, "
                        "or `program journey <name> reset`. Check a file first with `momentum journey check FILE`.")
    reset = words[-1].lower() == "reset"
    prog = turn.program(" ".join(words[:-1] if reset else words))
    if reset:
        prog.journey_yaml = None
        turn.session.add(prog)
        turn.audit("program.journey", prog.name, detail={"reset": True})
        return reply(f"{prog.name} uses the built-in {prog.kind} journey again.")
    if not body.strip():
        raise UserError("Paste the journey file (YAML) on the lines below `program journey <name>`.")
    try:
        j = check_text(body, "your journey")
    except JourneyError as exc:
        raise UserError(f"That journey file has problems, so nothing was changed:\n{exc}") from None
    if j.kind != prog.kind:
        raise UserError(f"That file is a {j.kind} journey, but {prog.name} is a {prog.kind} program. "
                        "Nothing was changed.")
    prog.journey_yaml = body
    turn.session.add(prog)
    turn.audit("program.journey", prog.name, detail={"phases": [p.key for p in j.phases]})
    return reply(f"{prog.name} now uses its own journey ({len(j.phases)} phases, {len(j.words)} texts).")


@command("pair", "pair @sponsor @sponsoree [program]", admin=True)
def _pair(turn: Turn, args: list[str], raw: str) -> Response:
    turn.require_admin("pair")
    if len(args) < 2:
        raise UserError("Use `pair @sponsor @sponsoree [program]` (mentions or email addresses).")
    sponsor, sponsoree = turn.resolve_all(args[:2])
    prog = turn.program(" ".join(args[2:]) or None)
    pair, warn = create_pair(turn, sponsor, sponsoree, prog)
    if pair is None:
        return reply(f"{sponsor.name} and {sponsoree.name} are already paired in {prog.name}. Nothing changed.")
    turn.audit("pair.create", f"{sponsor.external_id}->{sponsoree.external_id}", detail={"program": prog.name,
                                                                                     "pair_id": pair.id})
    lines = [f"Paired {sponsor.name} (sponsor) with {sponsoree.name} in {prog.name}. "
             "I'll send them a kickoff at a good local time."]
    if warn:
        lines.append(warn)
    return Response(reply=say(*lines), ephemeral=True)


def _target_pair(turn: Turn, args: list[str], command: str) -> Pair:
    if not args:
        raise UserError(f"Use `{command} @person` (or `{command} @sponsor @sponsoree`).")
    people = turn.resolve_all([a for a in args[:2] if a.startswith("<@") or "@" in a])
    if not people:
        raise UserError(f"Use `{command} @person` (or `{command} @sponsor @sponsoree`).")
    q = select(Pair).where(Pair.status.in_(("active", "paused")))  # type: ignore[attr-defined]
    for p in people:
        q = q.where(or_(col(Pair.sponsor_id) == p.id, col(Pair.sponsoree_id) == p.id))
    pairs = [p for p in turn.session.exec(q).all() if turn.session.get(Program,  # type: ignore[union-attr]
                                                                       p.program_id).workspace_id == turn.workspace.id]
    if not pairs:
        raise UserError(f"{' and '.join(p.name for p in people)} {'is' if len(people) == 1 else 'are'} "
                        "not in an active pair.")
    if len(pairs) > 1:
        raise UserError(f"{people[0].name} is in {len(pairs)} pairs: name both people, "
                        f"`{command} @sponsor @sponsoree`.")
    return pairs[0]


@command("unpair", "unpair @person", admin=True)
def _unpair(turn: Turn, args: list[str], raw: str) -> Response:
    turn.require_admin("unpair")
    pair = _target_pair(turn, args, "unpair")
    sp, se = end_pair(turn, pair, "pair.unpair")
    return reply(f"Unpaired {sp.name} and {se.name}. No more prompts go to this pair; nothing was sent to them.")


@command("pause-pair", "pause-pair @person [resume]", admin=True, aliases=("pausepair",))
def _pause_pair(turn: Turn, args: list[str], raw: str) -> Response:
    turn.require_admin("pause-pair")
    resume_it = bool(args) and args[-1].lower() == "resume"
    pair = _target_pair(turn, [a for a in args if a.lower() != "resume"], "pause-pair")
    sp, se = turn.person(pair.sponsor_id), turn.person(pair.sponsoree_id)
    if resume_it:
        pair.status, pair.paused_until, pair.planned_until = "active", None, None
        turn.touched_pairs.append(pair.id)  # type: ignore[arg-type]
        turn.audit("pair.resume", f"{sp.external_id}->{se.external_id}", detail={"pair_id": pair.id})
        msg = f"Resumed {sp.name} and {se.name}: prompts start again at their next usual time."
    else:
        pair.status = "paused"
        drop_pending(turn, pair)
        turn.audit("pair.pause", f"{sp.external_id}->{se.external_id}", detail={"pair_id": pair.id})
        who = se.email or f"<@{se.external_id}>"
        msg = f"Paused {sp.name} and {se.name}. Resume with `pause-pair {who} resume`."
    turn.session.add(pair)
    return reply(msg)


@command("end-pair", "end-pair @person", admin=True, aliases=("endpair",))
def _end_pair(turn: Turn, args: list[str], raw: str) -> Response:
    turn.require_admin("end-pair")
    pair = _target_pair(turn, args, "end-pair")
    sp, se = end_pair(turn, pair, "pair.end")
    prog = turn.session.get(Program, pair.program_id)
    assert prog is not None
    week = max(1, week_index(pair.start_date, turn.now))

    for person_id in (pair.sponsoree_id, pair.sponsor_id):
        if turn.session.exec(select(Prompt).where(Prompt.pair_id == pair.id, Prompt.recipient_id == person_id,
                                         Prompt.kind == PromptKind.WRAPUP, Prompt.period == "end")).first():
            continue
        turn.session.add(Prompt(pair_id=pair.id, recipient_id=person_id, workspace_id=turn.workspace.id,  # type: ignore[arg-type]
                                kind=PromptKind.WRAPUP,
                       phase=stage_for(prog.kind, week), period="end", week=week,
                       variant=variant_for(pair.id, PromptKind.WRAPUP, "end"), due_at=turn.now,  # type: ignore[arg-type]
                       next_attempt_at=turn.now, created_at=turn.now))
    return reply(f"Ended {sp.name} and {se.name}'s pairing. Both get a short wrap-up with a reflection and "
                 "an invitation to pay it forward.")


@command("import", "import", admin=True)
def _import(turn: Turn, args: list[str], raw: str) -> Response:
    turn.require_admin("import")
    if raw.strip():
        return import_csv(turn, raw)
    return Response(form=import_form())


def import_csv(turn: Turn, text: str) -> Response:
    """Validate every row, then import all rows in this one transaction (or none)."""
    progs = {p.name.lower(): p for p in turn.session.exec(select(Program).where(
        Program.workspace_id == turn.workspace.id, Program.status == "active")).all()}
    default = next(iter(progs.values())).name if len(progs) == 1 else None
    parsed = csvio.parse(text, default)  # the row limit (csvio.MAX_ROWS) is checked here
    errors = list(parsed.errors)
    for row in parsed.rows:
        if row.program.lower() not in progs:
            errors.append(f"Line {row.line}: there's no program {row.program!r}")
    if errors:  # everything that can be checked without the platform is, before any look-up
        return _import_refused(turn, errors)
    emails = [e for row in parsed.rows for e in (row.sponsor, row.sponsoree)]
    found: dict[str, Person] = bulk.find_by_emails(turn.session, turn.workspace.id, emails)  # type: ignore[arg-type]
    missing: dict[str, int] = {}  # email -> first line
    for row in parsed.rows:
        for email in (row.sponsor, row.sponsoree):
            if email not in found:
                missing.setdefault(email, row.line)
    # Everyone unknown was looked up on the platform before this unit of work (see Turn.resolve_all).
    need = {e for e in missing if e not in turn.lookups.emails}
    if need:
        raise NeedLookups(set(), need)
    profiles = [turn.lookup_email(e) for e in missing]
    for (email, line), prof in zip(missing.items(), profiles, strict=True):
        if prof is None:
            errors.append(f"Line {line}: nobody with the email {email} in this workspace")
    if errors:
        return _import_refused(turn, errors)
    fetched = {email: prof for email, prof in zip(missing, profiles, strict=True) if prof is not None}
    try:  # every check and every row prepared first (reads), then bulk inserts: the write lock is brief
        done = importing.import_pairs(turn.session, turn.now, turn.workspace.id, parsed.rows, progs, found, fetched)  # type: ignore[arg-type]
    except UserError as exc:
        turn.session.rollback()
        turn.touched_pairs.clear()
        return Response(reply=say(f"Nothing was imported. {exc}"), errors={"csv": str(exc)[:1900]})
    turn.touched_pairs.extend(done.created)
    created, existing, warnings = len(done.created), done.existing, done.warnings
    turn.audit("pairs.import", detail={"created": created, "unchanged": existing})
    lines = [f"Imported {created} new pair(s); {existing} already existed and were left as they were."]
    if warnings:
        lines.append("Heads-up, same unit: " + " ".join(warnings[:10]))
    return Response(reply=say(*lines))


def _import_refused(turn: Turn, errors: list[str]) -> Response:
    """Nothing imported: roll back, audit the refusal, show the first lines that need fixing."""
    errors.sort(key=lambda e: int(re.findall(r"\d+", e)[0]) if re.findall(r"\d+", e) else 0)
    turn.session.rollback()
    turn.audit("pairs.import", ok=False, detail={"errors": len(errors)})
    shown = "\n".join(errors[:15]) + (f"\n... and {len(errors) - 15} more" if len(errors) > 15 else "")
    return Response(reply=say(f"Nothing was imported: {len(errors)} line(s) need fixing.", shown),
                    errors={"csv": shown[:1900]})


@command("export", "export", admin=True)
def _export(turn: Turn, args: list[str], raw: str) -> Response:
    turn.require_admin("export")
    data = csvio.export(turn.session, turn.workspace.id)  # type: ignore[arg-type]
    turn.audit("pairs.export")
    rows = max(0, data.count("\n") - 1)
    return Response(reply=say(f"Here's the export: {rows} pair(s), activity counts only (no private notes)."),
                    attachment=Attachment("momentum-pairs.csv", data, "text/csv", "Momentum pairs"))


@command("report", "report [program]", admin=True)
def _report(turn: Turn, args: list[str], raw: str) -> Response:
    turn.require_admin("report")
    return Response(reply=trends.report(turn.session, turn.workspace.id, turn.now, raw or None))  # type: ignore[arg-type]


@command("digest", "digest on|off", admin=True)
def _digest(turn: Turn, args: list[str], raw: str) -> Response:
    """The weekly admin digest, opt-in per admin (planned and sent by ``bot.outbox.admin``)."""
    dw = admin_words().digest
    if not turn.is_admin:
        raise NotAdmin("digest", dw.admins_only)
    sub = args[0].lower() if args else ""
    if sub not in ("on", "off"):
        raise UserError(dw.command_usage)
    me = turn.me
    if (me.admin_digest_since is not None) == (sub == "on"):
        return reply(dw.already_on if sub == "on" else dw.already_off)
    me.admin_digest_since = turn.now if sub == "on" else None
    turn.session.add(me)
    if sub == "off":
        cancel_admin_digests(turn.session.connection(), me.id)  # type: ignore[arg-type]
    turn.audit(f"digest.{sub}", me.external_id)
    return reply(dw.turned_on if sub == "on" else dw.turned_off)


@command("audit", "audit [n]", admin=True)
def _audit(turn: Turn, args: list[str], raw: str) -> Response:
    turn.require_admin("audit")
    try:
        n = max(1, min(50, int(args[0]))) if args else 20
    except ValueError:
        raise UserError("Use `audit` or `audit 50`.") from None
    rows = turn.session.exec(select(AuditLog).where(AuditLog.workspace_id == turn.workspace.id)
                    .order_by(AuditLog.id.desc()).limit(n)).all()  # type: ignore[union-attr]
    names = {p.id: p.name for p in turn.session.exec(select(Person).where(
            Person.workspace_id == turn.workspace.id)).all()}
    items = tuple(
        (f"{r.at:%Y-%m-%d %H:%M} UTC", f"{names.get(r.actor_id, 'system') if r.actor_id else 'system'}: "
         f"{r.action}{' ' + r.target if r.target else ''}{'' if r.ok else ' (refused)'}")
        for r in rows
    )
    mb = MessageBuilder(kind="audit").add(Heading(f"Audit: last {len(items)} changes"))
    mb.add(Fields(items) if items else para("Nothing yet."))
    return Response(reply=mb.build())


@command("admin", "admin add|remove @person", admin=True)
def _admin(turn: Turn, args: list[str], raw: str) -> Response:
    turn.require_admin("admin")
    if len(args) < 2 or args[0].lower() not in ("add", "remove"):
        raise UserError("Use `admin add @person` or `admin remove @person`.")
    who = turn.resolve(args[1])
    add = args[0].lower() == "add"
    if not add and who.id == turn.me.id and not (turn.me.is_platform_admin or
                                               (turn.me.email or "") in turn.deps.settings.admin_emails):
        raise UserError("You can't remove your own admin rights; ask another admin.")
    who.is_granted_admin = add
    turn.session.add(who)
    turn.audit("admin.add" if add else "admin.remove", who.external_id)
    return reply(f"{who.name} {'can now' if add else 'can no longer'} run admin commands."
                 + ("" if add or not who.is_platform_admin else " (They remain a workspace admin/owner.)"))


@command("forget", "forget @person", admin=True)
def _forget(turn: Turn, args: list[str], raw: str) -> Response:
    turn.require_admin("forget")
    if not args:
        raise UserError("Use `forget @person`. This erases their personal data and notes for good.")
    who = turn.resolve(args[0])
    ext = who.external_id
    counts = privacy.forget(turn.session, who, turn.now)
    turn.audit("person.forget", ext, detail=counts)
    turn.session.commit()
    turn.deps.db.scrub()  # no erased byte left behind in the database files (SQLite: WAL checkpoint)
    return reply(f"Erased {ext}'s personal data and notes ({sum(counts.values())} records). Aggregate counts stay, "
                 "anonymised. This is in the audit log.")
