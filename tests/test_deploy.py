"""The service files and the deployment guide say what the code does."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from bot.config import load_config

ROOT = Path(__file__).resolve().parent.parent
SERVICE = ROOT / "deploy" / "duban.service"
ENV_EXAMPLE = ROOT / "deploy" / "duban.env.example"


def unit_keys(text: str) -> dict[str, dict[str, list[str]]]:
    sections: dict[str, dict[str, list[str]]] = {}
    current = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            current = line.strip("[]")
            sections[current] = {}
            continue
        key, _, value = line.partition("=")
        sections[current].setdefault(key, []).append(value)
    return sections


def test_service_runs_the_bot_as_a_dedicated_user() -> None:
    unit = unit_keys(SERVICE.read_text(encoding="utf-8"))
    svc = unit["Service"]
    assert svc["User"] == ["duban"]
    assert svc["Restart"] == ["on-failure"]
    assert svc["EnvironmentFile"] == ["/etc/duban/duban.env"]
    assert svc["WorkingDirectory"] == ["/var/lib/duban"]
    assert svc["ExecStart"][0].endswith("/duban run")
    assert svc["NoNewPrivileges"] == ["yes"] and svc["ProtectSystem"] == ["strict"]
    assert svc["StateDirectory"] == ["duban"]   # the one writable place: the ledger's
    assert unit["Install"]["WantedBy"] == ["multi-user.target"]


def test_service_file_passes_systemd_analyze() -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze not installed")
    out = subprocess.run([analyze, "verify", "--man=no", str(SERVICE)],
                         capture_output=True, text=True, timeout=60)
    problems = [line for line in (out.stdout + out.stderr).splitlines()
                if re.search(r"Unknown|Invalid|Failed to parse|unknown|bad-setting", line)]
    assert not problems, problems


def test_env_example_names_only_settings_the_code_reads() -> None:
    text = ENV_EXAMPLE.read_text(encoding="utf-8")
    known = set(re.findall(r"DUBAN_[A-Z_]+", (ROOT / "bot" / "config.py").read_text("utf-8")))
    named = set(re.findall(r"^#? ?(DUBAN_[A-Z_]+)=", text, re.M))
    assert named and named <= known, named - known
    active = dict(line.split("=", 1) for line in text.splitlines()
                  if line and not line.startswith("#"))
    active.pop("DUBAN_CONFIG")   # /etc/duban/duban.toml does not exist here
    config = load_config(active)  # the example's values pass the config checks
    assert config.db == "/var/lib/duban/duban.db" and config.log_format == "json"


def test_deploy_guide_sections() -> None:
    text = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
    for heading in ("## 在中国大陆部署（代理或自建 Bot API 服务器）", "## 作为系统服务运行",
                    "## 升级", "## 监控"):
        assert heading in text
    for word in ("DUBAN_PROXY", "DUBAN_API_URL", "duban db upgrade", "duban doctor",
                 "/healthz", 'format = "json"', "deploy/duban.service"):
        assert word in text, word
    assert "docs/deploy.md" in (ROOT / "README.md").read_text(encoding="utf-8")
