"""The translation layer is complete: every key used by a page has both languages."""
import re
from pathlib import Path

from ui.i18n import TEXT

ROOT = Path(__file__).resolve().parent.parent


def used_keys() -> set[str]:
    keys = set()
    for path in [ROOT / "dashboard.py", *ROOT.glob("pages/*.py"), *ROOT.glob("ui/*.py")]:
        keys |= set(re.findall(r"""\bt\(\s*["']([\w.]+)["']""", path.read_text(encoding="utf-8")))
        # keys built from a prefix, e.g. t(f"status.{s}") or format_func=t over "period.*" options
        for prefix in re.findall(r"""\bt\(\s*f["']([\w.]+)\{""", path.read_text(encoding="utf-8")):
            assert any(k.startswith(prefix) for k in TEXT), prefix
    return keys


def test_every_used_key_exists_in_both_languages():
    keys = used_keys()
    prefixes = {k for k in keys if k.endswith(".")}  # t("status." + s)
    assert all(any(k.startswith(p) for k in TEXT) for p in prefixes)
    missing = keys - prefixes - set(TEXT)
    assert not missing, sorted(missing)
    for key, (zh, en) in TEXT.items():
        assert zh.strip() and en.strip(), key


def test_english_texts_have_no_chinese():
    cjk = re.compile(r"[\u4e00-\u9fff]")
    bilingual = {"sidebar.language"}  # shown the same in both languages on purpose
    for key, (zh, en) in TEXT.items():
        if key in bilingual:
            continue
        assert not cjk.search(en), f"{key}: English text has Chinese characters: {en}"
