"""Linkage in the transform: quarantined person records without a usable ID get a second chance.

After a transform's dbt build, :func:`link_quarantined` takes the rows of
``quarantine.quarantined_rows`` quarantined for their personal ID (PID_MISSING, PID_MALFORMED,
PID_UNKNOWN_PROVINCE) in the staging models that hold person records (a ``full_name`` and a
``date_of_birth`` column), links each against the population snapshot
(``staging.stg_population__citizens``) with the versioned model, and writes one row per staging
row to ``ops.person_links``. Review-band results are queued in ``ops.link_review``.

Rows that only carry an old ID card number (CMND) that names no citizen, or several, get the
same second chance: staging conforms them with a null personal ID (they are not quarantined),
so they are found in the staging models that have a ``cmnd`` column and are linked under the
reason ``CMND_UNRESOLVED``. Such a link does not take a row out of quarantine (it was never
in); it says whom the record names (``int_insured_persons_deduplicated`` takes it).

A row is linked again only when it has no link yet: no result of this model version for the
row's current version (``_loaded_at``), and no effective link (a citizen's identity never
changes because of a later link). Effective links (auto-link, or a review accepted) take the
row out of quarantine on the next dbt build (``quarantine.linked_rows``); ``_changed_at`` tells
the next transform there is work (``ndc.transform_state.work_to_do``).

All the records of a run are linked in one Splink run (a run per batch cost ~3 s each). Term
frequencies come from the data scored (the population and those records), so the same record
linked in another run can differ in the last digits of its probability: probabilities are kept
to 4 decimals, and a link in effect is never re-scored.
"""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd
import psycopg
from psycopg import sql

from ndc.linkage.model import LinkageModel, link
from ndc.settings import libpq_url

LINK_REASONS = ("PID_MISSING", "PID_MALFORMED", "PID_UNKNOWN_PROVINCE")
# Not a quarantine reason: a conformed row whose CMND resolved to no single citizen, so its
# personal ID is null (see stg_social_insurance__insured_persons).
CMND_UNRESOLVED = "CMND_UNRESOLVED"
# The model the transform links with: trained on synthetic labelled sets, calibrated to a
# measured precision of 99.9% (`python -m ndc.linkage.flow` writes it again).
DEFAULT_MODEL = Path(__file__).parent / "models" / "vietnamese.json"
QUARANTINE = "quarantine.quarantined_rows"
POPULATION = "staging.stg_population__citizens"
# The columns of a staging row the model compares, when the model has them.
RECORD_COLUMNS = ("full_name", "date_of_birth", "date_of_birth_precision", "sex_code")
# The dictionary element of a parent's name (include/dictionary/elements/civil_event.yaml): a
# staging column the registry conforms to it is the record's mother_name for the model.
MOTHER_ELEMENT = "mother_full_name"
# Term frequencies come from the data scored (the population and the records of the run), so
# the same record linked in another run may differ in the last digits.
PROBABILITY_DIGITS = 4

DDL = """
create schema if not exists ops;
create table if not exists ops.person_links (
    source text not null,
    entity text not null,
    _batch_id text not null,
    _source_row bigint not null,
    -- The ledger version of the row linked: a batch loaded again is linked again.
    _loaded_at timestamptz,
    record_key text,
    reason_code text,
    personal_id text,
    match_probability double precision,
    band text not null check (band in ('auto_link', 'review', 'non_link')),
    model_version text not null,
    -- Effective: auto-linked, or a review accepted. Such a row leaves quarantine.
    linked boolean not null,
    link_method text,
    linked_at timestamptz not null default now(),
    -- When the row's effect last changed (a new link, a review decision): the next transform
    -- rebuilds the quarantine rows changed since its last build.
    _changed_at timestamptz not null default now(),
    primary key (source, entity, _batch_id, _source_row)
);
create table if not exists ops.link_review (
    review_id bigserial primary key,
    source text not null,
    entity text not null,
    _batch_id text not null,
    _source_row bigint not null,
    record_key text,
    personal_id text not null,
    match_probability double precision,
    model_version text not null,
    queued_at timestamptz not null default now(),
    decision text check (decision in ('accepted', 'rejected')),
    decided_by text,
    decided_at timestamptz,
    unique (source, entity, _batch_id, _source_row, model_version)
);
"""


def ensure_tables(conn: psycopg.Connection) -> None:
    """Create ops.person_links and ops.link_review when missing."""
    conn.execute(DDL)


def load_model(path: Path | str | None = None) -> LinkageModel:
    """The transform's model: ``path``, else the one shipped with ndc."""
    return LinkageModel.load(path or DEFAULT_MODEL)


def person_entities(conn: psycopg.Connection) -> list[tuple[str, str, str, Columns]]:
    """(source, entity, staging table, columns to compare) of every entity with quarantined
    ID rows whose staging table holds person records."""
    found = conn.execute(
        sql.SQL(
            "select distinct source, entity from {} where reason_code = any(%s) order by 1, 2"
        ).format(sql.SQL(QUARANTINE)),
        (list(LINK_REASONS),),
    ).fetchall()
    from ndc.registry import load_registry

    registry = load_registry()
    out = []
    for source, entity in found:
        table = _staging_table(conn, source, entity)
        if table is None:
            continue
        columns = _columns(conn, table)
        if {"full_name", "date_of_birth", "_loaded_at"} <= columns:
            cols = comparison_columns(registry, source, entity, columns)
            out.append((source, entity, table, cols))
    return out


def cmnd_entities(conn: psycopg.Connection) -> list[tuple[str, str, str, Columns]]:
    """(source, entity, staging table, columns to compare) of every person entity whose staging
    model resolves an old ID card number (CMND) to a personal ID: a ``cmnd`` and a
    ``personal_id`` column beside the person columns. The registry names the entities; the
    staging table says whether it has the columns."""
    from ndc.registry import load_registry

    registry = load_registry()
    out = []
    for source in registry.values():
        for entity in source.entities:
            table = _staging_table(conn, source.name, entity.name)
            if table is None:
                continue
            columns = _columns(conn, table)
            needed = {"cmnd", "personal_id", "full_name", "date_of_birth", "_loaded_at"}
            if needed | {"quarantine_reason_code"} <= columns:
                cols = comparison_columns(registry, source.name, entity.name, columns)
                out.append((source.name, entity.name, table, cols))
    return sorted(out, key=lambda e: e[:3])


# What the model reads from a staging row: its input column -> the SQL giving it (over the
# staging row ``s``).
Columns = dict[str, sql.Composable]


def comparison_columns(registry: dict, source: str, entity: str, staged: set[str]) -> Columns:
    """The model's inputs a staging model has, as the registry names them: the person columns
    (RECORD_COLUMNS); a parent's name, the column `conform` maps to the dictionary element
    mother_full_name; a commune, the code as received and its system, from an admin_unit
    column of `conform` (the staging model's admin_code_system says the system) or from the
    entity's `linkage` block (its system declared, or the source's)."""
    out: Columns = {
        c: sql.SQL("s.{}").format(sql.Identifier(c)) for c in RECORD_COLUMNS if c in staged
    }
    src = registry.get(source)
    ent = None
    if src is not None:
        ent = next((e for e in src.entities if e.name == entity), None)
    if ent is None:
        return out
    mother = [c.to for c in ent.conform.values() if c.to == MOTHER_ELEMENT and c.to in staged]
    if mother:
        out["mother_name"] = sql.SQL("s.{}").format(sql.Identifier(mother[0]))
    units = [
        (ent.conform[c].code_column or c)
        for c in ent.admin_unit_columns
        if ent.legacy_address is None or ent.legacy_address.column != c
    ]
    units = [c for c in units if c in staged]
    if units and "admin_code_system" in staged:
        out["commune_code"] = sql.SQL("s.{}").format(sql.Identifier(units[0]))
        out["commune_code_system"] = sql.SQL("s.admin_code_system")
    elif ent.linkage is not None and ent.linkage.commune_code in staged:
        out["commune_code"] = sql.SQL("s.{}").format(sql.Identifier(ent.linkage.commune_code))
        out["commune_code_system"] = sql.Literal(src.linkage_code_system(ent))
    return out


def _columns(conn: psycopg.Connection, table: str) -> set[str]:
    return {
        r[0]
        for r in conn.execute(
            "select column_name from information_schema.columns "
            "where table_schema = 'staging' and table_name = %s",
            (table,),
        )
    }


def _staging_table(conn: psycopg.Connection, source: str, entity: str) -> str | None:
    """The staging table of a registry entity (stg_<source>__<entity>s, as dbt names them)."""
    for name in (f"stg_{source}__{entity}s", f"stg_{source}__{entity}"):
        if conn.execute(
            "select 1 from information_schema.tables "
            "where table_schema = 'staging' and table_name = %s",
            (name,),
        ).fetchone():
            return name
    return None


def _select(columns: Columns) -> sql.Composable:
    return sql.SQL(", ").join(
        sql.SQL("{} as {}").format(expr, sql.Identifier(name)) for name, expr in columns.items()
    )


def records_to_link(
    conn: psycopg.Connection, source: str, entity: str, table: str, columns: Columns, version
) -> pd.DataFrame:
    """The quarantined ID rows of one entity without a link: none for their content by this
    model version, and no effective link."""
    select = _select(columns)
    query = sql.SQL(
        """
        select q._batch_id, q._source_row, q.record_key, q.reason_code, s._loaded_at, {select}
        from {quarantine} as q
        join staging.{table} as s
            on s._batch_id = q._batch_id and s._source_row = q._source_row
        left join ops.person_links as l
            on l.source = q.source and l.entity = q.entity
            and l._batch_id = q._batch_id and l._source_row = q._source_row
            and l._loaded_at = s._loaded_at
        where q.source = %(source)s and q.entity = %(entity)s
            and q.reason_code = any(%(reasons)s)
            and (l.source is null or (not l.linked and l.model_version <> %(version)s))
        order by q._batch_id, q._source_row
        """
    ).format(select=select, quarantine=sql.SQL(QUARANTINE), table=sql.Identifier(table))
    cur = conn.execute(
        query,
        {"source": source, "entity": entity, "reasons": list(LINK_REASONS), "version": version},
    )
    return pd.DataFrame(cur.fetchall(), columns=[d.name for d in cur.description])


def unresolved_cmnd_records(
    conn: psycopg.Connection, source: str, entity: str, table: str, columns: Columns, version
) -> pd.DataFrame:
    """The conformed rows of one entity that carry a CMND but no personal ID (the CMND named no
    citizen, or several), without a link: none for their version by this model version, and no
    effective link. A row merged into another as a duplicate is left out: its survivor speaks
    for it."""
    select = _select(columns)
    not_merged = (
        sql.SQL("and s.duplicate_of_record_key is null")
        if "duplicate_of_record_key" in _columns(conn, table)
        else sql.SQL("")
    )
    query = sql.SQL(
        """
        select s._batch_id, s._source_row, s.record_key, %(reason)s as reason_code,
            s._loaded_at, {select}
        from staging.{table} as s
        left join ops.person_links as l
            on l.source = %(source)s and l.entity = %(entity)s
            and l._batch_id = s._batch_id and l._source_row = s._source_row
            and l._loaded_at = s._loaded_at
        where s.quarantine_reason_code is null and s.personal_id is null
            and s.cmnd is not null {not_merged}
            and (l.source is null or (not l.linked and l.model_version <> %(version)s))
        order by s._batch_id, s._source_row
        """
    ).format(select=select, table=sql.Identifier(table), not_merged=not_merged)
    cur = conn.execute(
        query,
        {"source": source, "entity": entity, "reason": CMND_UNRESOLVED, "version": version},
    )
    return pd.DataFrame(cur.fetchall(), columns=[d.name for d in cur.description])


def population(
    conn: psycopg.Connection, registrations: list[tuple[str, str, str]] | None = None
) -> pd.DataFrame:
    """The population snapshot, the columns the model compares (living and dead citizens):
    name, date of birth, sex, the commune (2025 codes) and, where a conformed record with the
    citizen's personal ID names one mother (a birth registration), the mother's name."""
    mothers = _mother_names(conn, registrations)
    cur = conn.execute(
        sql.SQL(
            """
            select c.personal_id, c.full_name, c.date_of_birth, c.sex_code,
                c.commune_code, '2025'::text as commune_code_system, m.mother_name
            from {population} as c
            left join ({mothers}) as m on m.personal_id = c.personal_id
            order by c.personal_id
            """
        ).format(population=sql.SQL(POPULATION), mothers=mothers)
    )
    return pd.DataFrame(cur.fetchall(), columns=[d.name for d in cur.description])


def birth_registrations(conn: psycopg.Connection) -> list[tuple[str, str, str]]:
    """(source, entity, staging table) of the entities that register births: they conform a
    mother's name (mother_full_name) and the child's personal ID (the registry's civil
    registration births), staged with a quarantine column."""
    from ndc.registry import ColumnKind, load_registry

    found = []
    for source in sorted(load_registry().values(), key=lambda s: s.name):
        for entity in source.entities:
            tos = {c.to: c.kind for c in entity.conform.values()}
            if tos.get(MOTHER_ELEMENT) is not ColumnKind.PERSON_NAME:
                continue
            if tos.get("personal_id") is not ColumnKind.PERSONAL_ID:
                continue
            table = _staging_table(conn, source.name, entity.name)
            if table is None or not {
                MOTHER_ELEMENT,
                "personal_id",
                "full_name",
                "quarantine_reason_code",
            } <= _columns(conn, table):
                continue
            found.append((source.name, entity.name, table))
    return found


def _mother_names(
    conn: psycopg.Connection, registrations: list[tuple[str, str, str]] | None = None
) -> sql.Composable:
    """SQL of (personal_id, mother_name): the mother's name conformed records with a personal
    ID give, where they give one (the birth registrations: ``birth_registrations``)."""
    parts = [
        sql.SQL(
            "select personal_id, {m} as mother_name from staging.{t} "
            "where quarantine_reason_code is null and personal_id is not null "
            "and {m} is not null"
        ).format(m=sql.Identifier(MOTHER_ELEMENT), t=sql.Identifier(table))
        for _, _, table in (birth_registrations(conn) if registrations is None else registrations)
    ]
    if not parts:
        return sql.SQL("select null::text as personal_id, null::text as mother_name where false")
    # A citizen two records give two different mothers is left without one: never guessed.
    return sql.SQL(
        "select personal_id, min(mother_name) as mother_name from ({}) as given "
        "group by personal_id having count(distinct mother_name) = 1"
    ).format(sql.SQL(" union all ").join(parts))


def _name(value) -> str:
    return " ".join(str(value).split()).casefold() if isinstance(value, str) else ""


def hold_registered_births(
    conn: psycopg.Connection,
    out: pd.DataFrame,
    registrations: list[tuple[str, str, str]] | None = None,
) -> pd.DataFrame:
    """A birth registration names a newborn, and a person's birth is registered once: a birth
    record auto-linked to a citizen whose birth is registered already (a conformed birth
    registration under the citizen's personal ID) under another name is held for review, not
    linked. It is a twin, or a sibling born the same day to the same mother, whose own ID the
    population does not hold yet, or the same child's name mistyped; a clerk tells them apart.
    The same name registered again stays linked (a duplicate registration)."""
    if registrations is None:
        registrations = birth_registrations(conn)
    births = {(s, e) for s, e, _ in registrations}
    linked = (out["band"] == "auto_link") & pd.Series(
        [(s, e) in births for s, e in zip(out["source"], out["entity"], strict=True)],
        index=out.index,
    )
    candidates = sorted(set(out.loc[linked, "personal_id"].dropna()))
    if not candidates:
        return out
    names: dict[str, set[str]] = {}
    for _, _, table in registrations:
        for personal_id, full_name in conn.execute(
            sql.SQL(
                "select personal_id, full_name from staging.{} "
                "where quarantine_reason_code is null and personal_id = any(%s)"
            ).format(sql.Identifier(table)),
            (candidates,),
        ):
            names.setdefault(personal_id, set()).add(_name(full_name))
    held = linked & pd.Series(
        [
            pid in names and _name(name) not in names[pid]
            for pid, name in zip(out["personal_id"], out["full_name"], strict=True)
        ],
        index=out.index,
    )
    return out.assign(band=out["band"].where(~held, "review"))


def model_columns(records: pd.DataFrame) -> pd.DataFrame:
    """Staging rows as the model reads them: dates as ISO text, the precision 'day' where the
    staging model has none."""
    recs = records.copy()
    recs["date_of_birth"] = recs["date_of_birth"].map(lambda d: None if d is None else str(d))
    if "date_of_birth_precision" not in recs:
        recs["date_of_birth_precision"] = "day"
    recs["date_of_birth_precision"] = recs["date_of_birth_precision"].fillna("day")
    return recs


def _results(records: pd.DataFrame, pop: pd.DataFrame, model: LinkageModel) -> pd.DataFrame:
    """Link the records; one result row per record."""
    recs = records.assign(
        record_id=[
            f"{s}/{e}/{b}/{r}"
            for s, e, b, r in zip(
                records.source, records.entity, records._batch_id, records._source_row, strict=True
            )
        ]
    )
    recs = model_columns(recs)
    result = link(recs, pop, model).set_index("record_id")
    out = recs.join(result[["personal_id", "match_probability", "band"]], on="record_id")
    out["match_probability"] = out["match_probability"].round(PROBABILITY_DIGITS)
    return out


def link_quarantined(warehouse_url: str, model: LinkageModel | None = None, log=print) -> dict:
    """Link the quarantined ID rows and the conformed rows whose CMND did not resolve, those not
    linked yet; write ops.person_links and the review queue. Returns counts per band, the
    model version and the seconds it took."""
    t0 = time.perf_counter()
    model = model or load_model()
    counts = {"records": 0, "auto_link": 0, "review": 0, "non_link": 0}
    with psycopg.connect(libpq_url(warehouse_url), autocommit=True) as conn:
        ensure_tables(conn)
        if not _exists(conn, QUARANTINE) or not _exists(conn, POPULATION):
            return counts | {"model_version": model.version, "seconds": 0.0}
        frames = [
            records_to_link(conn, source, entity, table, cols, model.version).assign(
                source=source, entity=entity
            )
            for source, entity, table, cols in person_entities(conn)
        ] + [
            unresolved_cmnd_records(conn, source, entity, table, cols, model.version).assign(
                source=source, entity=entity
            )
            for source, entity, table, cols in cmnd_entities(conn)
        ]
        frames = [f for f in frames if len(f)]
        if frames:
            records = pd.concat(frames, ignore_index=True)
            # One Splink run for all of them: a run per batch costs seconds each.
            # The birth registrations give the population its mothers' names and hold the
            # auto-links of birth records to children registered under another name.
            registrations = birth_registrations(conn)
            out = _results(records, population(conn, registrations), model)
            out = hold_registered_births(conn, out, registrations)
            for (source, entity), rows in out.groupby(["source", "entity"], sort=True):
                _write(conn, source, entity, rows, model.version)
            counts["records"] = len(out)
            for band, n in out["band"].value_counts().items():
                counts[band] += int(n)
        log(
            f"linked {counts['records']} record(s) without a usable ID with model {model.version}: "
            f"{counts['auto_link']} auto-linked, {counts['review']} to review, "
            f"{counts['non_link']} not linked"
        )
    return counts | {"model_version": model.version, "seconds": time.perf_counter() - t0}


def _exists(conn: psycopg.Connection, relation: str) -> bool:
    return conn.execute("select to_regclass(%s) is not null", (relation,)).fetchone()[0]


def _write(conn, source: str, entity: str, out: pd.DataFrame, version: str) -> None:
    rows = [
        (
            source,
            entity,
            r["_batch_id"],
            int(r["_source_row"]),
            r["_loaded_at"],
            r["record_key"],
            r["reason_code"],
            None if pd.isna(r["personal_id"]) else r["personal_id"],
            None if pd.isna(r["match_probability"]) else float(r["match_probability"]),
            r["band"],
            version,
            r["band"] == "auto_link",
            "probabilistic" if r["band"] == "auto_link" else None,
        )
        # to_dict, not itertuples: the names starting with "_" stay as they are.
        for r in out.to_dict("records")
    ]
    with conn.transaction():
        conn.cursor().executemany(
            """
            insert into ops.person_links (source, entity, _batch_id, _source_row, _loaded_at,
                record_key, reason_code, personal_id, match_probability, band, model_version,
                linked, link_method)
            values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
            on conflict (source, entity, _batch_id, _source_row) do update set
                _loaded_at = excluded._loaded_at, record_key = excluded.record_key,
                reason_code = excluded.reason_code, personal_id = excluded.personal_id,
                match_probability = excluded.match_probability, band = excluded.band,
                model_version = excluded.model_version, linked = excluded.linked,
                link_method = excluded.link_method, linked_at = now(), _changed_at = now()
            """,
            rows,
        )
        conn.cursor().executemany(
            """
            insert into ops.link_review (source, entity, _batch_id, _source_row, record_key,
                personal_id, match_probability, model_version)
            values (%s, %s, %s, %s, %s, %s, %s, %s)
            on conflict (source, entity, _batch_id, _source_row, model_version) do nothing
            """,
            [(r[0], r[1], r[2], r[3], r[5], r[7], r[8], version) for r in rows if r[9] == "review"],
        )


def train_default(
    path: Path = DEFAULT_MODEL,
    persons: int = 5_000,
    seed: int = 7,
    warehouse_url: str | None = None,
    log=print,
) -> LinkageModel:
    """Train the shipped model: on a synthetic labelled set (seed), calibrated on another
    (seed + 1) to a measured precision of 99.9%. Deterministic. With ``warehouse_url``, the
    clerks' review decisions kept there (``ops.link_review``) are labels too: accepted links
    count as right and rejected ones as wrong when the threshold is chosen."""
    from ndc.linkage.model import calibrate, train
    from ndc.linkage.review import review_labels
    from ndc.linkage.synthetic import make_linkage_set

    log(f"training on a synthetic set of {persons} persons (seed {seed})")
    training = make_linkage_set(persons, seed=seed)
    calibration = make_linkage_set(persons, seed=seed + 1)
    model = train(training.records, training.population, "vietnamese", seed=42)
    review = None
    if warehouse_url:
        review = review_labels(warehouse_url)
        log(
            f"review decisions as labels: {len(review.accepted)} accepted, "
            f"{len(review.rejected)} rejected"
        )
    log(f"calibrating on a synthetic set of {persons} persons (seed {seed + 1})")
    model = calibrate(
        model,
        calibration.records,
        calibration.population,
        calibration.truth,
        label=f"the synthetic set of {persons} persons, seed {seed + 1}",
        review=review,
    )
    model.save(path)
    log(
        f"model {model.version} written to {path}: auto-link at probability "
        f"{1 / (1 + 2**-model.auto_link_weight):.4f} ({model.threshold_rule})"
    )
    return model


def main(argv: list[str] | None = None) -> int:
    """``python -m ndc.linkage.flow [--warehouse URL] [--out PATH]``: train the model again."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m ndc.linkage.flow", description=main.__doc__)
    parser.add_argument("--out", type=Path, default=DEFAULT_MODEL, help="model file to write")
    parser.add_argument("--persons", type=int, default=5_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--warehouse",
        metavar="URL",
        help="a warehouse whose review decisions (ops.link_review) count as labels",
    )
    args = parser.parse_args(argv)
    train_default(args.out, args.persons, args.seed, args.warehouse)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
