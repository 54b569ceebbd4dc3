"""The project's set-up files agree with each other."""
import re
import tomllib

import yaml

from salign.core import paths


def _name(spec: str) -> str:
    return re.split(r"[<>=!~ \[]", spec, maxsplit=1)[0].lower()


def test_environment_yml_lists_the_same_dependencies_as_pyproject():
    project = tomllib.loads((paths.PROJECT_ROOT / "pyproject.toml").read_text())["project"]
    wanted = {_name(d): d.replace(" ", "") for d in project["dependencies"] + project["optional-dependencies"]["test"]}
    env = yaml.safe_load((paths.PROJECT_ROOT / "environment.yml").read_text())
    conda = {_name(d): d.replace(" ", "") for d in env["dependencies"] if isinstance(d, str) and _name(d) not in ("python", "pip")}
    assert conda == wanted


def test_readme_gives_exactly_the_two_commands_and_ci_runs_the_test_one():
    readme = (paths.PROJECT_ROOT / "README.md").read_text()
    block = re.search(r"## Two commands.*?```bash\n(.*?)```", readme, flags=re.S).group(1)
    commands = [line.split("#")[0].strip() for line in block.splitlines() if line.strip()]
    assert commands == ["make review", "make test"]
    assert "make test" in (paths.PROJECT_ROOT / ".ci" / "run").read_text()
    makefile = (paths.PROJECT_ROOT / "Makefile").read_text()
    assert re.search(r"^review:.*##", makefile, flags=re.M) and re.search(r"^test:.*##", makefile, flags=re.M)
    assert ".DEFAULT_GOAL := help" in makefile
