import time

from tl_helpers import offline


def test_online_is_fast_and_forced_off(monkeypatch):
    monkeypatch.setenv("TL_OFFLINE", "1")
    assert offline.online() is False
    monkeypatch.delenv("TL_OFFLINE")
    start = time.monotonic()
    # a port on this machine that nothing listens on: refused at once, never a hang
    assert offline.online("127.0.0.1", port=9, timeout=2.0) is False
    assert time.monotonic() - start < 5


def test_error_message_names_item_places_and_fixes():
    err = offline.MissingResourceError("foo.h5", ["/a", "/b"], ["do x", "do y"], cause="offline")
    text = str(err)
    assert text.startswith("Missing: foo.h5") and "/a, /b" in text and "  - do y" in text and "offline" in text
    assert "lite" in offline.LITE_FIX
