"""Runs a composite action.yml the way the Actions runner does, without Docker or the runner.

No tool here executes composite actions (act needs Docker, @github/local-action is JS-only), so
this reads the real action.yml, substitutes the `${{ ... }}` expressions it uses, and runs each
step with the runner's bash command line and fresh GITHUB_OUTPUT / GITHUB_ENV files, sharing one
GITHUB_STEP_SUMMARY. An expression it does not know is an error, never an empty string.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
# What the runner uses for `shell: bash`.
BASH = ("bash", "--noprofile", "--norc", "-eo", "pipefail")
# Variables of the machine running the tests that must not leak into the simulated job.
_HOST_CI = re.compile(r"^(GITHUB_|RUNNER_|GITLAB_|CI_|CI$)")


@dataclass
class StepRun:
    id: str | None
    returncode: int
    stdout: str
    stderr: str
    outputs: dict[str, str]


@dataclass
class ActionRun:
    steps: list[StepRun] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)
    summary: str = ""

    @property
    def returncode(self) -> int:
        return self.steps[-1].returncode if self.steps else 0

    @property
    def stdout(self) -> str:
        return "".join(step.stdout for step in self.steps)


def read_outputs(path: Path) -> dict[str, str]:
    """`name=value` lines and `name<<DELIMITER` ... `DELIMITER` blocks."""
    outputs: dict[str, str] = {}
    lines = iter(path.read_text(encoding="utf-8").splitlines())
    for line in lines:
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            block: list[str] = []
            for item in lines:
                if item == delimiter:
                    break
                block.append(item)
            outputs[name] = "\n".join(block)
        elif "=" in line:
            name, value = line.split("=", 1)
            outputs[name] = value
    return outputs


def substitute(text: str, context: Mapping[str, str]) -> str:
    """Known expressions by value; an output a declared step did not write is "" as on the runner."""
    step_ids = {key.split(".")[1] for key in context if key.startswith("steps.")}

    def value(match: re.Match[str]) -> str:
        expression = match.group(1)
        if expression in context:
            return context[expression]
        parts = expression.split(".")
        if len(parts) == 4 and parts[0] == "steps" and parts[1] in step_ids and parts[2] == "outputs":
            return ""
        raise KeyError(f"expression not supported by the harness: {expression!r}")

    return EXPRESSION.sub(value, text)


def run_action(action_path: Path, inputs: Mapping[str, str], workspace: Path, runner_temp: Path) -> ActionRun:
    action: dict[str, Any] = yaml.safe_load((action_path / "action.yml").read_text(encoding="utf-8"))
    context = {f"inputs.{name}": str(spec.get("default", "")) for name, spec in action["inputs"].items()}
    unknown = set(inputs) - set(action["inputs"])
    if unknown:
        raise KeyError(f"inputs not declared in action.yml: {sorted(unknown)}")
    context.update({f"inputs.{name}": value for name, value in inputs.items()})
    context.update({"github.action_path": str(action_path), "runner.temp": str(runner_temp)})
    # Declared step ids, so their outputs resolve ("" until written) and a typo does not.
    context.update({f"steps.{step['id']}": "" for step in action["runs"]["steps"] if "id" in step})
    summary = runner_temp / "step-summary.md"
    summary.write_text("")
    base_env = {k: v for k, v in os.environ.items() if not _HOST_CI.match(k)}
    base_env.update(
        CI="true",
        GITHUB_ACTIONS="true",
        GITHUB_WORKSPACE=str(workspace),
        GITHUB_ACTION_PATH=str(action_path),
        RUNNER_TEMP=str(runner_temp),
        GITHUB_STEP_SUMMARY=str(summary),
    )
    run = ActionRun()
    for index, step in enumerate(action["runs"]["steps"]):
        result = _run_step(index, step, context, Job(base_env, workspace, runner_temp))
        run.steps.append(result)
        if result.id:
            context.update({f"steps.{result.id}.outputs.{k}": v for k, v in result.outputs.items()})
        if result.returncode != 0:
            break
    outputs = action.get("outputs", {})
    run.outputs = {name: substitute(str(spec["value"]), context) for name, spec in outputs.items()}
    run.summary = summary.read_text(encoding="utf-8")
    return run


@dataclass(frozen=True)
class Job:
    """What every step of the job shares."""

    env: Mapping[str, str]
    workspace: Path
    runner_temp: Path


def _run_step(index: int, step: Mapping[str, Any], context: Mapping[str, str], job: Job) -> StepRun:
    if "run" not in step or step.get("shell") != "bash":
        raise ValueError(f"step {index}: the harness runs `run:` steps with `shell: bash` only")
    output, env_file = job.runner_temp / f"output-{index}", job.runner_temp / f"env-{index}"
    output.write_text("")
    env_file.write_text("")
    env = dict(job.env)
    env.update({name: substitute(str(value), context) for name, value in step.get("env", {}).items()})
    env.update(GITHUB_OUTPUT=str(output), GITHUB_ENV=str(env_file))
    script = job.runner_temp / f"step-{index}.sh"
    script.write_text(substitute(step["run"], context), encoding="utf-8")
    done = subprocess.run([*BASH, str(script)], cwd=job.workspace, env=env, capture_output=True, text=True, check=False)
    return StepRun(step.get("id"), done.returncode, done.stdout, done.stderr, read_outputs(output))
