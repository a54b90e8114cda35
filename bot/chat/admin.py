"""Admin commands: programs, pairing, import and export, reports, audit, admin rights, erasure."""

from __future__ import annotations

import difflib
import re
from datetime import date

from sqlalchemy import func, or_
from sqlmodel import col, select

from bot.chat import bulk
from bot.chat.changes import create_pair, drop_pending, end_pair
from bot.chat.registry import command
from bot.chat.turn import NeedLookups, Turn, reply, say
from bot.chat.views import import_form
from bot.content._data import words
from bot.content.admin_words import admin_words
from bot.content.chat_words import t
from bot.content.journey import JourneyError, builtin, check_text, journey_for
from bot.content.kinds import PROGRAM_KINDS, PromptKind, stage_for, variant_for
from bot.content.timing import week_index, zone
from bot.domain import console, csvio, importing, privacy, trends
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
            return reply(t("admin.program.none"))
        active = dict(turn.session.exec(  # one grouped count, not every pair's id read
            select(Pair.program_id, func.count()).where(  # type: ignore[call-overload]
                col(Pair.program_id).in_([p.id for p in progs]), Pair.status == "active")
            .group_by(col(Pair.program_id))).all())
        lines = [(p.name, t("admin.program.line", kind=p.kind, weeks=p.length_weeks, start=f"{p.start_date:%d %b %Y}",
                             active=active.get(p.id or 0, 0), status=p.status)) for p in progs]
        return Response(reply=MessageBuilder(kind="programs").add(Heading(t("admin.program.heading")),
                                                                  Fields(tuple(lines))).build())
    if sub == "show":
        prog = turn.program(" ".join(args[1:]) or None)
        return Response(reply=trends.report(turn.session, turn.workspace.id, turn.now, prog.name))  # type: ignore[arg-type]
    if sub == "create":
        pos, opts = _options(args[1:])
        if not pos:
            raise UserError(t("admin.program.name_it"))
        kind = "sponsorship"
        if len(pos) > 1 and pos[-1].lower() in PROGRAM_KINDS:
            kind = pos.pop().lower()
        elif len(pos) > 1 and (meant := difflib.get_close_matches(pos[-1].lower(), PROGRAM_KINDS, n=1, cutoff=0.7)):
            # "Autumn 2027 mentorship" is a typo for a kind far more often than a name; a quoted name
            # ("...") is one token and never gets here
            raise UserError(t("admin.program.unknown_kind", word=pos[-1], kind=meant[0], name=" ".join(pos[:-1])))
        name = " ".join(pos)[:100]
        if turn.session.exec(select(Program).where(
            Program.workspace_id == turn.workspace.id,
                                                   Program.name == name)).first():
            raise UserError(t("admin.program.exists", name=repr(name)))
        try:
            weeks = int(opts.get("weeks", str(builtin(kind).default_weeks)))
            start = date.fromisoformat(opts["start"]) if "start" in opts else turn.now.date()
        except ValueError:
            raise UserError(t("admin.program.bad_options")) from None
        if not 4 <= weeks <= 156:
            raise UserError(t("admin.program.bad_weeks"))
        tz = opts.get("tz") or turn.workspace.default_tz
        if zone(tz).key != tz:
            raise UserError(t("admin.program.bad_tz", tz=repr(tz)))
        prog = Program(workspace_id=turn.workspace.id, name=name, kind=kind, start_date=start, length_weeks=weeks,  # type: ignore[arg-type]
                       default_tz=tz, stale_days=turn.deps.settings.stale_days, created_at=turn.now)
        turn.session.add(prog)
        turn.audit("program.create", name, detail={"kind": kind, "weeks": weeks})
        return reply(t("admin.program.created", name=name, kind=kind, weeks=weeks))
    if sub == "journey":
        return _program_journey(turn, args[1:], raw)
    raise UserError(t("admin.program.usage"))


def _program_journey(turn: Turn, args: list[str], raw: str) -> Response:
    """``program journey <name>`` + a journey file on the following lines: validate, then attach.
    ``program journey <name> reset`` goes back to the kind's own journey."""
    first, _, body = raw.partition("\n")
    words = first.split()[1:]
    if not words:
        raise UserError(t("admin.journey.usage"))
    reset = words[-1].lower() == "reset"
    prog = turn.program(" ".join(words[:-1] if reset else words))
    if reset:
        prog.journey_yaml = None
        turn.session.add(prog)
        turn.audit("program.journey", prog.name, detail={"reset": True})
        return reply(t("admin.journey.reset", program=prog.name, kind=prog.kind))
    if not body.strip():
        raise UserError(t("admin.journey.paste"))
    try:
        j = check_text(body, t("admin.journey.file_name"))
    except JourneyError as exc:
        raise UserError(t("admin.journey.problems", problems=str(exc))) from None
    if j.kind != prog.kind:
        raise UserError(t("admin.journey.wrong_kind", file_kind=j.kind, program=prog.name, kind=prog.kind))
    prog.journey_yaml = body
    turn.session.add(prog)
    turn.audit("program.journey", prog.name, detail={"phases": [p.key for p in j.phases]})
    return reply(t("admin.journey.attached", program=prog.name, phases=len(j.phases), texts=len(j.words)))


@command("pair", "pair @sponsor @sponsoree [program]", admin=True)
def _pair(turn: Turn, args: list[str], raw: str) -> Response:
    turn.require_admin("pair")
    if len(args) < 2:
        raise UserError(t("admin.pair.usage"))
    sponsor, sponsoree = turn.resolve_all(args[:2])
    prog = turn.program(" ".join(args[2:]) or None)
    pair, warn = create_pair(turn, sponsor, sponsoree, prog)
    if pair is None:
        return reply(t("admin.pair.exists", sponsor=sponsor.name, sponsoree=sponsoree.name, program=prog.name))
    turn.audit("pair.create", f"{sponsor.external_id}->{sponsoree.external_id}", detail={"program": prog.name,
                                                                                     "pair_id": pair.id})
    role = journey_for(prog.kind, prog.journey_yaml).role("senior")  # sponsor, mentor, ... as the program says
    lines = [t("admin.pair.done", sponsor=sponsor.name, role=role, sponsoree=sponsoree.name, program=prog.name)]
    if warn:
        lines.append(warn)
    return Response(reply=say(*lines), ephemeral=True)


def _target_pair(turn: Turn, args: list[str], command: str) -> Pair:
    """The pair ``args`` names: one or two people (mentions or emails), then optionally the program
    (needed when the people are paired in more than one)."""
    if not args:
        raise UserError(t("admin.target.usage", command=command))
    tokens = [a for a in args[:2] if a.startswith("<@") or "@" in a]
    people = turn.resolve_all(tokens)
    if not people:
        raise UserError(t("admin.target.usage", command=command))
    rest = [a for a in args if a not in tokens]
    prog = turn.program(" ".join(rest)) if rest else None
    progs = {p.id: p for p in turn.session.exec(select(Program).where(Program.workspace_id == turn.workspace.id)).all()}
    q = select(Pair).where(Pair.status.in_(("active", "paused")), col(Pair.program_id).in_(  # type: ignore[attr-defined]
        [prog.id] if prog is not None else sorted(progs)))
    for p in people:
        q = q.where(or_(col(Pair.sponsor_id) == p.id, col(Pair.sponsoree_id) == p.id))
    pairs = list(turn.session.exec(q.order_by(col(Pair.id))).all())
    names = t("admin.target.and").join(p.name for p in people)
    if not pairs:
        one = len(people) == 1
        if prog is not None:
            raise UserError(t("admin.target.one_not_paired_in" if one else "admin.target.not_paired_in",
                              people=names, program=prog.name))
        raise UserError(t("admin.target.one_not_paired" if one else "admin.target.not_paired", people=names))
    if len(pairs) > 1:
        in_progs = list(dict.fromkeys(progs[p.program_id].name for p in pairs))
        listed = t("turn.list_separator").join(in_progs)
        if len(people) == 2:  # both named: only the program can tell the pairs apart
            raise UserError(t("admin.target.several_programs", people=names, count=len(in_progs), programs=listed,
                              command=command, program=in_progs[0]))
        raise UserError(t("admin.target.several", person=people[0].name, count=len(pairs), programs=listed,
                          command=command, program=in_progs[0]))
    return pairs[0]


@command("unpair", "unpair @person [@partner] [program]", admin=True)
def _unpair(turn: Turn, args: list[str], raw: str) -> Response:
    turn.require_admin("unpair")
    pair = _target_pair(turn, args, "unpair")
    sp, se = end_pair(turn, pair, "pair.unpair")
    return reply(t("admin.unpair.done", sponsor=sp.name, sponsoree=se.name))


@command("pause-pair", "pause-pair @person [@partner] [program] [resume]", admin=True, aliases=("pausepair",))
def _pause_pair(turn: Turn, args: list[str], raw: str) -> Response:
    turn.require_admin("pause-pair")
    resume_it = bool(args) and args[-1].lower() == "resume"
    pair = _target_pair(turn, [a for a in args if a.lower() != "resume"], "pause-pair")
    sp, se = turn.person(pair.sponsor_id), turn.person(pair.sponsoree_id)
    if resume_it:
        pair.status, pair.paused_until, pair.planned_until = "active", None, None
        turn.touched_pairs.append(pair.id)  # type: ignore[arg-type]
        turn.audit("pair.resume", f"{sp.external_id}->{se.external_id}", detail={"pair_id": pair.id})
        msg = t("admin.pause_pair.resumed", sponsor=sp.name, sponsoree=se.name)
    else:
        pair.status = "paused"
        drop_pending(turn, pair)
        turn.audit("pair.pause", f"{sp.external_id}->{se.external_id}", detail={"pair_id": pair.id})
        who = se.email or f"<@{se.external_id}>"
        msg = t("admin.pause_pair.paused", sponsor=sp.name, sponsoree=se.name, who=who)
    turn.session.add(pair)
    return reply(msg)


@command("end-pair", "end-pair @person [@partner] [program]", admin=True, aliases=("endpair",))
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
    return reply(t("admin.end_pair.done", sponsor=sp.name, sponsoree=se.name))


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
            errors.append(t("admin.import.no_program", line=row.line, program=repr(row.program)))
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
            errors.append(t("admin.import.no_person", line=line, email=email))
    if errors:
        return _import_refused(turn, errors)
    fetched = {email: prof for email, prof in zip(missing, profiles, strict=True) if prof is not None}
    try:  # every check and every row prepared first (reads), then bulk inserts: the write lock is brief
        done = importing.import_pairs(turn.session, turn.now, turn.workspace.id, parsed.rows, progs, found, fetched)  # type: ignore[arg-type]
    except UserError as exc:
        turn.session.rollback()
        turn.touched_pairs.clear()
        return Response(reply=say(t("admin.import.failed_with", error=str(exc))), errors={"csv": str(exc)[:1900]})
    turn.touched_pairs.extend(done.created)
    created, existing, warnings = len(done.created), done.existing, done.warnings
    turn.session.flush()  # the new people have ids: their attributes can follow
    kept = console.import_attributes(turn.session, turn.workspace.id, text, turn.me.id, turn.now)  # type: ignore[arg-type]
    turn.audit("pairs.import", detail={"created": created, "unchanged": existing, "units": len(done.units)})
    lines = [t("admin.import.done", created=created, existing=existing)]
    if done.units:
        none = t("admin.import.unit_none")
        changes = t("turn.list_separator").join(
            t("admin.import.unit_change", person=who, old=old or none, new=new) for who, old, new in done.units[:10])
        lines.append(t("admin.import.units", count=len(done.units), changes=changes))
    columns = console.attribute_columns(text)
    if columns:
        lines.append(t("admin.import.attributes", columns=t("turn.list_separator").join(columns), count=kept))
    if done.swapped:
        lines.append(t("admin.import.swapped_intro") + " ".join(done.swapped[:10]))
    if warnings:
        lines.append(t("admin.import.same_unit_intro") + " ".join(warnings[:10]))
    return Response(reply=say(*lines))


def _import_refused(turn: Turn, errors: list[str]) -> Response:
    """Nothing imported: roll back, audit the refusal, show the first lines that need fixing."""
    errors.sort(key=lambda e: int(re.findall(r"\d+", e)[0]) if re.findall(r"\d+", e) else 0)
    turn.session.rollback()
    turn.audit("pairs.import", ok=False, detail={"errors": len(errors)})
    shown = "\n".join(errors[:15]) + (t("admin.import.more", count=len(errors) - 15) if len(errors) > 15 else "")
    return Response(reply=say(t("admin.import.failed", count=len(errors)), shown),
                    errors={"csv": shown[:1900]})


@command("export", "export", admin=True)
def _export(turn: Turn, args: list[str], raw: str) -> Response:
    turn.require_admin("export")
    data = csvio.export(turn.session, turn.workspace.id)  # type: ignore[arg-type]
    turn.audit("pairs.export")
    rows = max(0, data.count("\n") - 1)
    return Response(reply=say(t("admin.export.done", rows=rows)),
                    attachment=Attachment("momentum-pairs.csv", data, "text/csv", t("admin.export.title")))


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
        raise UserError(t("admin.audit.usage")) from None
    rows = turn.session.exec(select(AuditLog).where(AuditLog.workspace_id == turn.workspace.id)
                    .order_by(AuditLog.id.desc()).limit(n)).all()  # type: ignore[union-attr]
    actors = {r.actor_id for r in rows if r.actor_id}  # the names of these few, not everyone's
    names = dict(turn.session.exec(select(Person.id, Person.name).where(
        Person.workspace_id == turn.workspace.id, col(Person.id).in_(sorted(actors)))).all()) if actors else {}
    system = t("admin.audit.system")
    items = tuple(
        (t("admin.audit.when", at=f"{r.at:%Y-%m-%d %H:%M}"),
         f"{names.get(r.actor_id, system) if r.actor_id else system}: "
         f"{r.action}{' ' + r.target if r.target else ''}{'' if r.ok else t('admin.audit.refused')}")
        for r in rows
    )
    mb = MessageBuilder(kind="audit").add(Heading(t("admin.audit.heading", count=len(items))))
    mb.add(Fields(items) if items else para(t("admin.audit.nothing")))
    return Response(reply=mb.build())


@command("console", "console", admin=True)
def _console(turn: Turn, args: list[str], raw: str) -> Response:
    """A single-use link to the web console, for this admin only (bot.domain.console)."""
    turn.require_admin("console")
    if not turn.deps.settings.public_url:
        return reply(words().console_not_configured)
    url = console.issue_link(turn.session, turn.me.id, turn.now, turn.deps.settings.public_url)  # type: ignore[arg-type]
    turn.audit("console.link")
    minutes = int(console.LINK_TTL.total_seconds() // 60)
    return Response(reply=say(*words().console_link.format(url=url, minutes=minutes).split("\n")))


@command("admin", "admin add|remove @person", admin=True)
def _admin(turn: Turn, args: list[str], raw: str) -> Response:
    turn.require_admin("admin")
    if len(args) < 2 or args[0].lower() not in ("add", "remove"):
        raise UserError(t("admin.admin.usage"))
    who = turn.resolve(args[1])
    add = args[0].lower() == "add"
    if not add and who.id == turn.me.id and not (turn.me.is_platform_admin or
                                               (turn.me.email or "") in turn.deps.settings.admin_emails):
        raise UserError(t("admin.admin.not_yourself"))
    who.is_granted_admin = add
    turn.session.add(who)
    turn.audit("admin.add" if add else "admin.remove", who.external_id)
    key = "added" if add else "removed_platform_admin" if who.is_platform_admin else "removed"
    return reply(t(f"admin.admin.done.{key}", person=who.name))


@command("forget", "forget @person", admin=True)
def _forget(turn: Turn, args: list[str], raw: str) -> Response:
    turn.require_admin("forget")
    if not args:
        raise UserError(t("admin.forget.usage"))
    who = turn.resolve(args[0])
    ext, name = who.external_id, who.name  # the name, for the admin's answer only: erased below
    counts = privacy.forget(turn.session, who, turn.now)
    turn.audit("person.forget", ext, detail=counts)
    turn.session.commit()
    turn.deps.db.scrub()  # no erased byte left behind in the database files (SQLite: WAL checkpoint)
    return reply(t("admin.forget.done", person=name, records=sum(counts.values())))
