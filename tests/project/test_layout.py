"""The compose file, Makefile and README agree with the project they describe."""

import re
import shlex
from pathlib import Path

import yaml
from django.conf import settings
from django.core.management import get_commands

ROOT = Path(settings.BASE_DIR)


def settings_variables() -> set[str]:
    names = set()
    for path in ROOT.glob("pema/*.py"):
        text = path.read_text()
        names |= set(re.findall(r"""env(?:\.\w+)?\(\s*["']([A-Z_][A-Z0-9_]*)["']""", text))
        names |= set(re.findall(r"""environ(?:\.get)?\[?\(?\s*["']([A-Z_][A-Z0-9_]*)["']""", text))
    return names


def test_compose_parses_and_its_commands_exist():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"postgres", "redis", "web", "worker", "beat"} <= set(services)
    assert services["postgres"]["image"].startswith("postgres:16")
    assert services["redis"]["image"].startswith("redis:7")
    requirements = (ROOT / "requirements.txt").read_text().lower()
    commands = get_commands()
    assert "sandbox" in services
    for name in ("web", "worker", "beat", "sandbox"):
        line = services[name]["command"]
        for part in re.split(r"&&", line.removeprefix("sh -c ").strip("\"'")):
            argv = shlex.split(part)
            program = argv[0]
            if program == "python":
                assert argv[1] == "manage.py" and (ROOT / "manage.py").exists()
                assert argv[2] in commands, argv
            else:
                assert f"\n{program}==" in "\n" + requirements, program
                if program == "celery":
                    assert argv[1:3] == ["-A", "pema"] and (ROOT / "pema" / "celery.py").exists()
                if program == "gunicorn":
                    assert argv[1] == "pema.wsgi:application"
    assert (ROOT / "Dockerfile").exists()


def test_compose_sets_only_variables_the_settings_read():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    read = settings_variables()
    for name in ("web", "worker", "beat", "sandbox"):
        for variable in compose["services"][name]["environment"]:
            assert variable in read, f"{name} sets {variable}, which the settings never read"


def test_readme_opens_with_the_two_commands():
    head = (ROOT / "README.md").read_text()[:1500]
    assert "make run" in head and "make test" in head


def test_readme_lists_every_variable_the_settings_read():
    readme = (ROOT / "README.md").read_text()
    missing = sorted(v for v in settings_variables() if f"`{v}`" not in readme)
    assert not missing, f"README does not document {missing}"


def test_procfile_runs_known_programs_on_port_8000():
    commands = get_commands()
    lines = [
        line.split(":", 1)
        for line in (ROOT / "Procfile").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    names = {name for name, _ in lines}
    assert {"web", "worker", "beat"} <= names
    for _name, command in lines:
        argv = shlex.split(command)
        assert (ROOT / argv[0]).name in ("python", "celery"), argv
        if argv[1] == "manage.py":
            assert argv[2] in commands, argv
    web = dict(lines)["web"]
    # honcho sets PORT for every process; the admin must stay on 8000.
    assert "${PORT" not in web and "8000" in web


def test_web_shares_var_with_the_worker():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    # Backups are made by the worker and downloaded through web: one volume for both.
    assert services["web"]["volumes"] == services["worker"]["volumes"]
    assert any(v.endswith(":/app/var") for v in services["web"]["volumes"])


def test_collected_static_files_are_served_without_a_web_server(tmp_path, settings):
    from django.core.management import call_command
    from django.test import Client

    settings.STATIC_ROOT = tmp_path
    call_command("collectstatic", "--noinput", verbosity=0)
    response = Client().get("/static/admin/css/base.css")
    assert response.status_code == 200
    assert b"body" in b"".join(response.streaming_content)


def test_readme_names_the_web_server_of_each_way_of_running():
    readme = (ROOT / "README.md").read_text()
    procfile = dict(
        line.split(":", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line
    )
    assert "runserver" in procfile["web"]
    make_run = readme.split("\n## `make run`\n", 1)[1].split("\n## ", 1)[0]
    assert "runserver" in make_run
    for paragraph in readme.split("\n\n"):
        if "gunicorn" in paragraph:
            assert "compose" in paragraph, f"gunicorn serves only the compose stack:\n{paragraph}"
