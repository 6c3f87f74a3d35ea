"""Import page: upload an export, map its columns, preview, commit, see the history, undo. Same import as the CLI."""
import hashlib
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import pandas as pd
import streamlit as st

from kpi import imports
from kpi.present import MISSING, clip, export_file_name, frame_to_csv, join_list, markdown_literal, readable_fields, value_label
from kpi.store import DATASETS
from kpi.imports import FatalImportError, Options
from kpi.imports import DATE_ORDERS, DECIMAL_OPTIONS, DURATION_UNITS
from kpi.imports import guess_dataset, suggest_mapping
from ui.access import require
from ui.auth import actor
from kpi.metrics import centre_zone
from ui.data import db_path, query, read, refresh_version, write
from ui.frame import current_filters
from ui.i18n import lang, t
from ui.widgets import file_upload, import_error, import_history_table

UPLOADS = Path(tempfile.gettempdir()) / "kpi_uploads"  # raw exports hold personal data: private, and short-lived
UPLOAD_HOURS = 2
ALL_SHEETS = "\0all"  # the sheet select's first choice: every sheet of the workbook (options.sheets: all)
AMOUNT_UNITS = ("auto", *imports.AMOUNT_UNITS)


def _decimal_label(mark: str) -> str:
    """A decimal-mark option as the select shows it."""
    return t("imp.decimal_auto") if mark == "auto" else t("imp.decimal_point") if mark == "." else t("imp.decimal_comma")


current_filters(used=False)  # the shared sidebar (no filters: none apply here), also when this page runs alone
require("imports")
st.title(t("page.import"))
st.caption(t("imp.intro"))

# A reason is a sentence (無法讀取「2026-13-45」（應為日期時間，例如 …）): its column gets the room, not a cut-off cell.
REASON_WIDE = {t("rej.col.reason"): st.column_config.TextColumn(width="large")}

upload = file_upload(t("imp.upload"), ["csv", "xlsx", "xlsm", "json", "jsonl", "ndjson", "gz"], key="imp_file")
if upload is not None:
    data = upload.getvalue()
    sha = hashlib.sha256(data).hexdigest()[:16]
    UPLOADS.mkdir(mode=0o700, parents=True, exist_ok=True)
    for old in UPLOADS.iterdir():  # forget uploads nobody has touched for a while
        if time.time() - old.stat().st_mtime > UPLOAD_HOURS * 3600:
            old.unlink(missing_ok=True)
    path = UPLOADS / f"{sha}_{Path(upload.name).name}"
    if not path.exists():
        path.touch(mode=0o600)
        path.write_bytes(data)

    c1, c2, c3 = st.columns(3)
    # An encoding is a text file's (CSV); a workbook or a JSON export (UTF-8 by definition) has none to choose.
    text_file = not upload.name.lower().endswith((".xlsx", ".xlsm", ".json", ".jsonl", ".ndjson", ".json.gz",
                                                  ".jsonl.gz", ".ndjson.gz"))
    encoding = c1.selectbox(t("imp.encoding"), ["auto", "utf-8", "cp950"], key=f"imp_enc_{sha}",
                            format_func=lambda e: value_label("encoding", e, lang()),
                            placeholder=t("select.placeholder")) if text_file else "auto"
    try:
        headers, sheets = imports.file_headers(str(path), Options(encoding=encoding), upload.name)
        if text_file and encoding == "auto":  # which one "automatic" chose (a Big5 export read as Big5), said
            if f"imp_found_{sha}" not in st.session_state:  # once per file: it checks the whole file, as an import does
                st.session_state[f"imp_found_{sha}"] = imports.file_encoding(str(path), Options(encoding=encoding),
                                                                             upload.name)
            found = st.session_state[f"imp_found_{sha}"]
            c1.caption(t("imp.encoding_found", encoding=value_label("encoding", found, lang())))
        # A budget workbook is read whole (a sheet per cost center), as the CLI reads it; other files one sheet. A first
        # sheet that says nothing (a notes sheet) is no reason to think otherwise.
        first_guess = guess_dataset(headers)[0]
        if first_guess is None and len(sheets) > 1:
            try:
                first_guess = guess_dataset(imports.file_headers(str(path), Options(encoding=encoding, sheets="all"),
                                                                 upload.name)[0])[0]
            except FatalImportError:  # no sheet holds a header row: the first sheet is picked, and says so below
                pass
        picked = c2.selectbox(t("imp.sheet"), [ALL_SHEETS, *sheets], index=0 if first_guess == "budget" else 1,
                              key=f"imp_sheet_{sha}", placeholder=t("select.placeholder"),
                              format_func=lambda s: t("imp.sheets_all") if s == ALL_SHEETS else s) if sheets else None
        sheet = None if picked == ALL_SHEETS else picked
        all_sheets = "all" if picked == ALL_SHEETS else None
        if picked is not None and picked != sheets[0]:
            headers, _ = imports.file_headers(str(path), Options(encoding=encoding, sheet=sheet, sheets=all_sheets),
                                              upload.name)
    except FatalImportError as exc:
        import_error(exc)
        st.stop()

    # A platform's export the headers match (a preset) says its dataset; otherwise the header words guess it.
    presets = imports.load_presets()
    recognised, _ = imports.detect_preset(headers)
    guessed = presets[recognised].dataset if recognised else guess_dataset(headers)[0]
    names = list(DATASETS)
    dataset = c3.selectbox(t("imp.dataset"), names, index=names.index(guessed) if guessed else 0,
                           format_func=lambda d: t(f"ds.{d}"), key=f"imp_ds_{sha}", placeholder=t("select.placeholder"))
    st.caption(t("imp.dataset_guess", name=t(f"ds.{guessed}")) if guessed else t("imp.dataset_unknown"))

    # ---- mapping: the recognised preset's, else pre-filled by header similarity; or a saved one
    found, _ = imports.detect_preset(headers, dataset)
    preset = presets[found] if found else None
    use_preset = False
    if preset is not None:
        st.info(imports.detected_line(preset, lang()))
        use_preset = st.toggle(t("imp.preset_use"), value=True, key=f"imp_preset_{sha}_{dataset}")
    saved_names = query(imports.saved_mappings, dataset)
    base = imports.applied(preset, headers) if use_preset else suggest_mapping(headers, dataset)
    if saved_names:
        s1, s2 = st.columns([3, 1])
        chosen = s1.selectbox(t("imp.saved"), ["", *saved_names], key=f"imp_saved_{sha}_{dataset}",
                              format_func=lambda n: n or t("imp.saved_none"), placeholder=t("select.placeholder"))
        if chosen:
            base = query(imports.get_saved_mapping, chosen)
    st.subheader(t("imp.mapping"))
    st.caption(t("imp.mapping_help"))
    ds = DATASETS[dataset]
    wide_extra = list(ds.extra_columns)
    columns = {}
    grid = st.columns(3)
    for i, col in enumerate(list(ds.columns) + wide_extra):
        default = [h for h in base.columns.get(col.name, []) if h in headers]
        label = t("imp.field_label", label=value_label("field", col.name, lang()), id=col.name)
        picked = grid[i % 3].multiselect(f"{label}{' *' if col.required else ''}", headers, default=default,
                                         max_selections=2, placeholder=t("imp.not_mapped"),
                                         help=t(f"field_help.{dataset}.{col.name}"),
                                         key=f"imp_map_{sha}_{dataset}_{col.name}_{len(default)}_{'|'.join(default)}")
        if picked:
            columns[col.name] = picked
    with st.expander(t("imp.options")):
        o1, o2, o3 = st.columns(3)
        date_order = o1.selectbox(t("imp.date_order"), DATE_ORDERS, index=DATE_ORDERS.index(base.options.date_order),
                                  key=f"imp_do_{sha}", format_func=lambda d: value_label("date_order", d, lang()),
                                  placeholder=t("select.placeholder"))
        units = list(DURATION_UNITS)
        unit = o2.selectbox(t("imp.duration_unit"), units, index=units.index(imports.default_unit(base.options)),
                            key=f"imp_du_{sha}_{imports.default_unit(base.options)}",
                            format_func=lambda u: value_label("duration_unit", u, lang()),
                            placeholder=t("select.placeholder"))
        decimal = o3.selectbox(t("imp.decimal"), DECIMAL_OPTIONS, index=DECIMAL_OPTIONS.index(base.options.decimal),
                               key=f"imp_dec_{sha}", format_func=_decimal_label, placeholder=t("select.placeholder"))
        zone = st.text_input(t("imp.timezone"), value=base.options.timezone or "", key=f"imp_tz_{sha}",
                             placeholder=t("imp.timezone_centre"), help=t("imp.timezone_help")).strip()
        # Constants for text columns the file lacks (e.g. a chat platform's export has no channel column).
        defaults = dict(base.options.defaults)
        unmapped = [c.name for c in ds.columns if c.kind == "text" and not c.required and c.name not in columns]
        for col, name in zip(st.columns(max(len(unmapped), 1)), unmapped):
            value = col.text_input(t("imp.default", column=value_label("field", name, lang())),
                                   value=defaults.get(name, ""), key=f"imp_def_{sha}_{name}")
            if value.strip():
                defaults[name] = value.strip()
        year, amount_unit = base.options.year, base.options.amount_unit
        drivers_sheet = base.options.drivers_sheet
        if dataset == "budget":  # month headers without a year (1月) and amounts in 千元
            if sheets:  # a workbook's drivers sheet (contacts, hours and rates per labour line) lands with the budget
                choices = [None, *sheets]
                drivers_sheet = st.selectbox(t("imp.drivers_sheet"), choices,
                                             index=choices.index(drivers_sheet) if drivers_sheet in choices else 0,
                                             key=f"imp_drivers_{sha}", format_func=lambda s: s or t("imp.drivers_auto"),
                                             help=t("imp.drivers_help"))
            b1, b2 = st.columns(2)
            year = b1.number_input(t("imp.year"), min_value=0, max_value=2200, value=year or 0, step=1,
                                   key=f"imp_year_{sha}") or None
            amount_unit = b2.selectbox(t("imp.amount_unit"), AMOUNT_UNITS, index=AMOUNT_UNITS.index(amount_unit or "auto"),
                                       key=f"imp_unit_{sha}", format_func=lambda u: t(f"amount_unit.{u}"),
                                       placeholder=t("select.placeholder"))
            amount_unit = None if amount_unit == "auto" else amount_unit
            if year is not None and year < 1900:
                st.error(t("imp.year_range"))
                year = None
        if base.options.values:
            st.caption(t("imp.recodes", values=imports.describe_recodes(base.options.values, dataset, lang())))
    # The base's other options (recodes, derived columns, dedupe) come along; a column picked above is no longer derived.
    mapping = imports.edited(replace(base, dataset=dataset), columns, date_order=date_order, duration_unit=unit,
                             encoding=encoding, sheet=sheet, sheets=all_sheets if sheets else None, year=year,
                             amount_unit=amount_unit, defaults=defaults, decimal=decimal, timezone=zone or None,
                             drivers_sheet=drivers_sheet)
    if mapping.options.derive:
        st.caption(t("imp.derived", items=imports.describe_derived(mapping.options, lang())))
    if mapping.options.dedupe:
        st.caption(t("imp.dedupe", field=mapping.options.dedupe["latest"]))

    m1, m2, m3 = st.columns([2, 1, 1])
    name = m1.text_input(t("imp.save_name"), key=f"imp_name_{sha}")
    if m2.button(t("imp.save"), key=f"imp_save_{sha}", disabled=not name.strip()):
        write(imports.save_mapping, name, mapping)
        st.success(t("imp.saved_ok", name=name))
    m3.download_button(t("imp.download_yaml"), mapping.to_yaml().encode("utf-8"), file_name=f"{dataset}.mapping.yaml",
                       mime="application/x-yaml", key=f"imp_yaml_{sha}")

    # ---- preview, then commit
    fingerprint = (sha, mapping.to_yaml())
    if st.button(t("imp.preview"), type="secondary", key=f"imp_preview_{sha}"):
        try:
            prep = imports.prepare(dataset, path, mapping, upload.name, centre_zone=centre_zone())
            st.session_state["imp_preview"] = (fingerprint, read(imports.preview, prep))
        except FatalImportError as exc:
            st.session_state.pop("imp_preview", None)
            import_error(exc)
    shown = st.session_state.get("imp_preview")
    if shown and shown[0] == fingerprint:
        pv = shown[1]
        st.info(t("imp.preview_counts", read=pv.rows_read, inserted=pv.inserted, updated=pv.updated,
                  unchanged=pv.unchanged, rejected=pv.rejected))
        if pv.superseded:
            st.caption(t("imp.superseded", n=pv.superseded))
        for other in pv.companions:  # the drivers sheet, imported with the budget
            st.info(t("imp.preview_companion", dataset=t(f"ds.{other.dataset}"), read=other.rows_read,
                      inserted=other.inserted, updated=other.updated, unchanged=other.unchanged, rejected=other.rejected))
            if len(other.rejects):
                st.dataframe(imports.readable_rejects(other.rejects, lang(), ("row_number", "column_name", "value",
                                                                              "reason")),
                             hide_index=True, key=f"imp_rejects_{other.dataset}", placeholder=MISSING,
                             column_config=REASON_WIDE)
        if pv.warnings is not None and len(pv.warnings):  # totals that do not add up, sheets left out
            st.warning(t("imp.warnings", n=len(pv.warnings)))
            st.dataframe(imports.readable_rejects(pv.warnings, lang(), ("sheet", "row_number", "column_name", "reason")),
                         hide_index=True, key="imp_warnings", placeholder=MISSING, column_config=REASON_WIDE)
        st.markdown(f"**{t('imp.preview_rows', n=len(pv.rows))}**")  # 18 of a 20-row file with 2 rejected
        st.dataframe(readable_fields(pv.rows, lang()), hide_index=True, key="imp_rows", placeholder=MISSING)
        if pv.ignored_columns:
            st.caption(t("imp.ignored", cols=clip(join_list(pv.ignored_columns, lang()))))
        if len(pv.rejects):
            st.markdown(f"**{t('imp.rejects')}**")
            st.dataframe(imports.readable_rejects(pv.rejects, lang(), ("sheet", "row_number", "column_name", "value",
                                                                       "reason")),
                         hide_index=True, key="imp_rejects", placeholder=MISSING, column_config=REASON_WIDE)
            st.download_button(t("imp.download_rejects"), frame_to_csv(imports.rejects_to_fix(pv.rejects, lang())),
                               file_name=export_file_name([t("imp.rejects_file"), Path(upload.name).stem], "csv"),
                               mime="text/csv", key=f"imp_rj_{sha}", help=t("imp.rejects_file_help"))
        if st.button(t("imp.commit"), type="primary", key=f"imp_commit_{sha}"):
            bar = st.progress(0.0, text=t("imp.committing"))
            try:
                result = imports.import_file(dataset, path, mapping, db=db_path(), source="page", run_by=actor(),
                                             display_name=upload.name, centre_zone=centre_zone(),
                                             progress=lambda f, step: bar.progress(min(max(f, 0.0), 1.0),
                                                                                   text=t(f"imp.step.{step}")))
                refresh_version()
                st.session_state.pop("imp_preview", None)
                st.session_state["imp_pick"] = result.import_id  # undo offers what was just written, not the last pick
                st.session_state["imp_undo_open"] = True
                path.unlink(missing_ok=True)  # imported: the raw file (with unhashed customer ids) is not kept
                st.success(t("imp.done", read=result.rows_read, inserted=result.inserted, updated=result.updated,
                             unchanged=result.unchanged, rejected=result.rejected, id=result.import_id,
                             file=upload.name, dataset=t(f"ds.{dataset}")))
                for other in result.companions:
                    st.success(t("imp.done", read=other.rows_read, inserted=other.inserted, updated=other.updated,
                                 unchanged=other.unchanged, rejected=other.rejected, id=other.import_id,
                                 file=other.file_name, dataset=t(f"ds.{other.dataset}")))
                if result.superseded:
                    st.caption(t("imp.superseded", n=result.superseded))
                if result.warnings is not None and len(result.warnings):
                    st.warning(t("imp.warnings", n=len(result.warnings)))
            except FatalImportError as exc:
                import_error(exc)

# ---- history, rejected rows, undo
st.subheader(t("imp.history"))
if "imp_flash" in st.session_state:  # the outcome of an undo, shown after the rerun that refreshed the history
    st.success(st.session_state.pop("imp_flash"))
history = query(imports.import_history, 200)
import_history_table(history, key="imp_history")
# Undo and a past import's rejected rows, behind a switch (on after an import): an undo is a deliberate act, and a new
# visit then draws no select box, check box or button (their scripts cost it 0.3-0.5 s in the browser, benchmarks.md).
if len(history) and st.toggle(t("imp.undo_open"), key="imp_undo_open"):
    ids = list(history["import_id"])
    by_id = history.set_index("import_id")
    if st.session_state.get("imp_pick") not in ids:
        st.session_state.pop("imp_pick", None)
    pick = st.selectbox(t("imp.pick_import"), ids, key="imp_pick", placeholder=t("select.placeholder"),
                        format_func=lambda i: t("imp.import_label", id=i, file=by_id.loc[i, "file_name"],
                                                dataset=t(f"ds.{by_id.loc[i, 'dataset']}"),
                                                inserted=int(by_id.loc[i, "inserted"]), updated=int(by_id.loc[i, "updated"])))
    rejects = query(imports.rejected_rows, int(pick))
    h1, h2 = st.columns(2)
    h1.download_button(t("imp.download_rejects"), frame_to_csv(imports.rejects_to_fix(rejects, lang())),
                       file_name=export_file_name([f"{t('imp.rejects_file')}-{pick}",
                                                   Path(str(by_id.loc[pick, "file_name"])).stem], "csv"),
                       mime="text/csv", key="imp_hist_rj", disabled=rejects.empty, help=t("imp.rejects_file_help"))
    undone_at = by_id.loc[pick, "undone_at"]
    if pd.notna(undone_at):  # undone already (just now, or earlier): said, with nothing left to confirm
        h2.info(t("imp.already_undone", id=pick, at=f"{pd.Timestamp(undone_at):%Y-%m-%d %H:%M}"))
    else:
        # the whole sentence where it wraps (a check box's label is cut to one line), the box a short yes
        h2.warning(markdown_literal(t("imp.undo_confirm_named", label=t(
            "imp.import_label", id=pick, file=by_id.loc[pick, "file_name"], dataset=t(f"ds.{by_id.loc[pick, 'dataset']}"),
            inserted=int(by_id.loc[pick, "inserted"]), updated=int(by_id.loc[pick, "updated"])))))
        confirm = h2.checkbox(t("imp.undo_check"), key=f"imp_confirm_{pick}")
        if h2.button(t("imp.undo"), disabled=not confirm, key=f"imp_undo_{pick}"):
            try:
                done = write(imports.undo_import, int(pick), by=actor())
                st.session_state["imp_flash"] = t("imp.undone", id=done.import_id, removed=done.removed,
                                                  restored=done.restored)
                st.rerun()  # the history shows the undo at once
            except imports.UndoRefused as exc:  # in the reader's language, the dataset in words
                params = {**exc.params, **({"dataset": t(f"ds.{exc.params['dataset']}")} if "dataset" in exc.params else {})}
                st.error(t("imp.undo_refused", error=markdown_literal(t(f"imp.refused.{exc.code}", **params))))
