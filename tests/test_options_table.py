"""The README's table "Options in every face" against the faces themselves: `pomona featurize
--help`, the Python signatures (pomona.featurize_batch; pomona.spark's featurizer, list_images and
its pyspark.ml stages Featurizer and PCA, with their Params) and the Spark job's parser. Every option of each face is in the table with its default; in a
row, the faces give one name (dashes and underscores aside; `PCA(center)` is `pca_center`) and one
default; renamed options fail with one line naming the new spelling."""
import argparse
import ast
import inspect
import re
import subprocess
import sys

import pytest

from helpers import ROOT, run_pomona

import pomona
import pomona.spark
import pomona.spark.job

FACES = ("cli", "python", "spark", "job")
TABLE_HEADER = "| `pomona featurize` | `pomona.featurize_batch` | `pomona.spark` | Spark job | meaning |"
NOT_OPTIONS = {"self", "spark"}  # parameters that are the receiver, not options
# Rows whose faces mean different things by one name, so their defaults may differ (the table's
# meaning column says how): the CLI's read-ahead of a process (-1: by input), Spark's of a task.
DEFAULTS_MAY_DIFFER = {"io_threads"}
NO_DEFAULT = "no default"


class Spec:
    """One name and default: `--batch 1`, `--pca-center` (a flag: off), `INPUT`, `batch=1`,
    `weights`, `PCA(center=False)`."""

    def __init__(self, name, default=NO_DEFAULT, flag=False):
        self.name, self.default, self.flag = name, default, flag

    def key(self):
        """The name faces share: --pca-k, pca_k and PCA(k) are all pca_k."""
        return self.name.lstrip("-").replace("-", "_").lower()

    def value(self):
        """The default as a comparable value (a flag is False, "5" and 5.0 are 5.0)."""
        if self.flag:
            return False
        value = None if self.default == NO_DEFAULT else self.default
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                return value.strip("'\"")
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        return value

    def __repr__(self):
        return f"{self.name}" + ("" if self.default == NO_DEFAULT else f"={self.default!r}")


def parse_cell(face, text):
    """The specs of one table cell (none for "—")."""
    specs = []
    for item in re.findall(r"`([^`]+)`", text):
        if face in ("cli", "job"):
            name, _, default = item.partition(" ")
            specs.append(Spec(name, default.strip("'") if default else NO_DEFAULT))
        else:
            call = re.fullmatch(r"(\w+)\((.*)\)", item)
            prefix, item = (call.group(1) + "_", call.group(2)) if call else ("", item)
            name, equals, default = item.partition("=")
            specs.append(Spec(prefix + name, ast.literal_eval(default) if equals else NO_DEFAULT))
    return specs


def read_table(readme):
    """The rows of the options table, each {face: [Spec]} (README.md)."""
    lines = readme.splitlines()
    start = lines.index(TABLE_HEADER) + 2
    rows = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        cells = [cell.strip() for cell in re.split(r"(?<!\\)\|", line)[1:-1]]
        rows.append({face: parse_cell(face, cell) for face, cell in zip(FACES, cells)})
    return rows


def cli_options(pomona_bin, *command):
    """{name: Spec} of `pomona COMMAND --help`: CLI11 prints `  --batch INT:INT in [1 - 256]=1
    description`, a flag with no type, positionals as `  INPUT TEXT REQUIRED`."""
    help_text = run_pomona(pomona_bin, *command, "--help").stdout
    options = {}
    for line in help_text.splitlines():
        match = re.match(r"  (-\S+|[A-Z]+)(\s.*)?$", line)
        if not match:
            continue
        head = re.sub(r" (Excludes|Needs): .*$", "", re.split(r"\s{2,}", line.strip())[0])
        names, _, kind = head.partition(" ")
        default = re.search(r"(?<![<>])=(\S+)", kind)
        for name in names.split(","):
            if name.startswith("--") or name.isupper():
                options[name] = Spec(name, default.group(1) if default else NO_DEFAULT,
                                     flag=not kind)
    options.pop("--help", None)
    return options


def python_options(*functions):
    """{name: Spec} of the parameters of functions (a class: its constructor, its parameters
    prefixed by its name, as `PCA_k`)."""
    options = {}
    for function in functions:
        prefix = function.__name__ + "_" if inspect.isclass(function) else ""
        for name, parameter in inspect.signature(function).parameters.items():
            if name in NOT_OPTIONS or parameter.kind == parameter.VAR_KEYWORD:
                continue
            default = NO_DEFAULT if parameter.default is parameter.empty else parameter.default
            options[prefix + name] = Spec(prefix + name, default)
    return options


def job_options(parser: argparse.ArgumentParser):
    """{name: Spec} of the job's options (hidden, retired ones aside)."""
    options = {}
    for action in parser._actions:  # argparse has no public list of its actions
        if action.help == argparse.SUPPRESS or isinstance(action, argparse._HelpAction):
            continue
        name = action.option_strings[-1]
        flag = isinstance(action, argparse._StoreTrueAction)
        default = [] if action.default == [] else action.default
        options[name] = Spec(name, NO_DEFAULT if default in (None, []) else default, flag=flag)
    return options


def faces(pomona_bin):
    return {
        "cli": cli_options(pomona_bin, "featurize"),
        "python": python_options(pomona.featurize_batch),
        "spark": python_options(pomona.spark.featurizer, pomona.spark.list_images,
                                pomona.spark.Featurizer, pomona.spark.PCA),
        "job": job_options(pomona.spark.job.argument_parser()),
    }


def problems(rows, actual):
    """What the table gets wrong about the faces (actual: {face: {name: Spec}}), and where the
    faces disagree with one another; empty when all agree."""
    found = []
    listed = {face: set() for face in FACES}
    for row in rows:
        for face in FACES:
            for spec in row[face]:
                listed[face].add(spec.name)
                have = actual[face].get(spec.name)
                if have is None:
                    found.append(f"{face}: the table lists {spec.name}, which it does not have")
                elif (spec.default != NO_DEFAULT if have.flag else
                      (spec.default == NO_DEFAULT) != (have.default == NO_DEFAULT)
                      or spec.value() != have.value()):
                    found.append(f"{face}: {spec.name} defaults to {have.default!r} "
                                 f"(flag: {have.flag}), the table says {spec.default!r}")
        # One option a row: one name and one default in every face that has it.
        singles = {face: row[face][0] for face in FACES if len(row[face]) == 1}
        if row["cli"] and not row["cli"][0].name.startswith("--"):
            continue  # INPUT, OUTPUT: each face's own form
        names = {face: spec.key() for face, spec in singles.items()}
        if len(set(names.values())) > 1:
            found.append(f"one option, several names: {names}")
        real = {face: actual[face].get(spec.name) for face, spec in singles.items()}
        defaults = {face: spec.value() for face, spec in real.items() if spec is not None}
        if len(set(map(repr, defaults.values()))) > 1 and \
                not set(names.values()) & DEFAULTS_MAY_DIFFER:
            found.append(f"{'/'.join(sorted(set(names.values())))}: defaults differ: {defaults}")
    for face in FACES:
        for name in sorted(set(actual[face]) - listed[face]):
            found.append(f"{face}: {name} is not in the table")
    return found


COMMANDS_HEADER = "| command | option | Python | meaning |"
# The Python API beside the other commands: owners whose every parameter the table must list, and
# methods it may name.
PYTHON_OWNERS = {"PCA": pomona.PCA, "Classifier": pomona.Classifier,
                 "Classifier.classify": pomona.Classifier.classify,
                 "resolve_weights": pomona.resolve_weights}
PYTHON_METHODS = {"PCA.partial_fit": pomona.PCA.partial_fit, "PCA.save": pomona.PCA.save,
                  "PCA.merge": pomona.PCA.merge, "PCA.transform": pomona.PCA.transform,
                  "PCA.load": pomona.PCA.load}


def owner_options(owners):
    """{"Owner(param)": Spec} of each owner's parameters."""
    options = {}
    for owner, function in owners.items():
        for name, parameter in inspect.signature(function).parameters.items():
            if name in NOT_OPTIONS or name == "cls":
                continue
            default = NO_DEFAULT if parameter.default is parameter.empty else parameter.default
            options[f"{owner}({name})"] = Spec(name, default)
    return options


def read_commands_table(readme):
    """[(command, [cli Spec], {"Owner(param)": Spec})] of the table of the other commands."""
    lines = readme.splitlines()
    rows = []
    for line in lines[lines.index(COMMANDS_HEADER) + 2:]:
        if not line.startswith("|"):
            break
        command, option, python = [cell.strip() for cell in re.split(r"(?<!\\)\|", line)[1:4]]
        specs = {}
        for item in re.findall(r"`([^`]+)`", python):
            owner, name, equals, default = re.fullmatch(r"([\w.]+)\((\w+)(=?)(.*)\)", item).groups()
            specs[f"{owner}({name})"] = Spec(name, ast.literal_eval(default) if equals else NO_DEFAULT)
        rows.append((command.strip("`"), parse_cell("cli", option), specs))
    return rows


def commands_problems(rows, pomona_bin):
    """What the table of the other commands gets wrong about their --help and the Python API."""
    found = []
    python = owner_options({**PYTHON_OWNERS, **PYTHON_METHODS})
    listed_cli, listed_python = set(), set()
    helps = {}
    for command, cli_specs, python_specs in rows:
        if command not in helps:
            helps[command] = {name: spec for name, spec in
                              cli_options(pomona_bin, *command.split()).items()
                              if not name.startswith("--s3-")}
        for spec in cli_specs:
            listed_cli.add((command, spec.name))
            have = helps[command].get(spec.name)
            if have is None:
                found.append(f"{command}: the table lists {spec.name}, which it does not have")
            elif (spec.default != NO_DEFAULT) if have.flag else \
                    (spec.default == NO_DEFAULT) != (have.default == NO_DEFAULT) \
                    or spec.value() != have.value():
                found.append(f"{command}: {spec.name} defaults to {have.default!r}, "
                             f"the table says {spec.default!r}")
        for key, spec in python_specs.items():
            listed_python.add(key)
            have = python.get(key)
            if have is None:
                found.append(f"python: the table lists {key}, which it does not have")
            elif spec.value() != have.value() or \
                    (spec.default == NO_DEFAULT) != (have.default == NO_DEFAULT):
                found.append(f"python: {key} defaults to {have.default!r}, "
                             f"the table says {spec.default!r}")
            elif len(cli_specs) == 1 and cli_specs[0].name.startswith("--") and \
                    key.split("(")[0] in PYTHON_OWNERS:  # an option, not a method's argument
                cli = helps[command].get(cli_specs[0].name)
                owner = key.split("(")[0].split(".")[0].lower()
                if cli_specs[0].key() not in (spec.name, f"{owner}_{spec.name}"):
                    found.append(f"{command}: {cli_specs[0].name} is {key} in Python")
                elif len(python_specs) == 1 and cli is not None and cli.value() != have.value():
                    found.append(f"{command}: {cli_specs[0].name} defaults to {cli.value()!r}, "
                                 f"{key} to {have.value()!r}")
    for command, options in helps.items():
        for name in sorted(set(options) - {n for c, n in listed_cli if c == command}):
            found.append(f"{command}: {name} is not in the table")
    for key in sorted(set(owner_options(PYTHON_OWNERS)) - listed_python):
        found.append(f"python: {key} is not in the table")
    return found


@pytest.fixture(scope="module")
def readme_rows():
    return read_table((ROOT / "README.md").read_text(encoding="utf-8"))


def test_readme_table_lists_every_option_of_every_face_with_its_default(pomona_bin, readme_rows):
    assert problems(readme_rows, faces(pomona_bin)) == []


def test_readme_table_of_the_other_commands_matches_their_help_and_python(pomona_bin):
    rows = read_commands_table((ROOT / "README.md").read_text(encoding="utf-8"))
    assert {command for command, _, _ in rows} == {"pca fit", "pca transform", "report", "index",
                                                   "classify", "serve", "weights fetch"}
    assert commands_problems(rows, pomona_bin) == []
    stale = read_commands_table((ROOT / "README.md").read_text(encoding="utf-8").replace(
        "| `classify` | `--top-k 3` | `Classifier.classify(top_k=3)` |",
        "| `classify` | `--top-k 3` | `Classifier.classify(top_k=5)` |"))
    assert commands_problems(stale, pomona_bin) == [
        "python: Classifier.classify(top_k) defaults to 3, the table says 5"]


def test_every_command_takes_the_same_s3_options(pomona_bin):
    want = {n: s.default for n, s in cli_options(pomona_bin, "featurize").items() if "s3" in n}
    for command in (["pca", "fit"], ["pca", "transform"], ["report"], ["index"], ["classify"],
                    ["serve"]):
        got = {n: s.default for n, s in cli_options(pomona_bin, *command).items() if "s3" in n}
        assert got == want, command


def test_faces_share_the_measured_defaults(pomona_bin):
    actual = faces(pomona_bin)
    for cli, python, spark, job in (("--batch", "batch", "batch", "--batch"),
                                    ("--threads", "threads", "threads", "--threads"),
                                    ("--alpha", "alpha", "alpha", "--alpha"),
                                    ("--size", "size", "size", "--size"),
                                    ("--precision", "precision", "precision", "--precision"),
                                    ("--glob", None, "glob", "--glob"),
                                    ("--pca-center", None, "PCA_center", "--pca-center")):
        values = [actual["cli"][cli].value(), actual["spark"][spark].value(),
                  actual["job"][job].value()]
        if python:
            values.append(actual["python"][python].value())
        assert len(set(map(repr, values))) == 1, (cli, values)
    # The Featurizer stage's Params are featurize()'s options, under their names and defaults.
    stage = pomona.spark.Featurizer()
    for name in ("batch", "threads", "alpha", "size", "precision", "label_from", "weights"):
        assert stage.getOrDefault(name) == actual["spark"][name].default, name
    assert actual["cli"]["--batch"].value() == 1.0  # measured fastest (README, Performance)
    assert actual["cli"]["--threads"].value() == 0.0  # every core
    assert pomona.PCA.__init__.__defaults__[-1] is False  # pomona.PCA(center=False), as Spark's


def test_a_differing_default_or_a_stale_table_is_caught(pomona_bin, readme_rows):
    actual = faces(pomona_bin)
    actual["python"]["batch"] = Spec("batch", 4)
    found = problems(readme_rows, actual)
    assert "python: batch defaults to 4 (flag: False), the table says 1" in found
    assert any(p.startswith("batch: defaults differ: {'cli': 1.0, 'python': 4.0") for p in found)
    stale = read_table((ROOT / "README.md").read_text(encoding="utf-8")
                       .replace("| `--size 224` | `size=224` |", "| `--size 96` | `size=224` |"))
    assert problems(stale, faces(pomona_bin)) == [
        "cli: --size defaults to '224' (flag: False), the table says '96'"]
    renamed = faces(pomona_bin)
    renamed["job"]["--threads-per-task"] = renamed["job"].pop("--threads")
    assert "job: --threads-per-task is not in the table" in problems(readme_rows, renamed)


@pytest.mark.parametrize("command", [["featurize"], ["pca", "fit"], ["report"]])
def test_centring_is_pca_center_in_every_command(pomona_bin, command):
    options = cli_options(pomona_bin, *command)
    assert options["--pca-center"].flag and "--center" not in options


@pytest.mark.parametrize("args, message", [
    (["pca", "fit", "f.parquet", "m.parquet", "--pca-k", "2", "--center"],
     "--center: is now --pca-center"),
    (["report", "f.parquet", "--html", "r.html"],
     "--html: is now the second argument: pomona report FEATURES OUTPUT"),
    (["report", "f.parquet", "r.html", "--center"], "--center: is now --pca-center"),
])
def test_renamed_cli_options_fail_with_one_line_naming_the_new_one(pomona_bin, tmp_path, args,
                                                                   message):
    result = run_pomona(pomona_bin, *args, check=False)
    assert result.returncode == 2
    assert result.stderr.splitlines()[0] == message
    assert not list(tmp_path.iterdir())


def test_renamed_job_option_fails_with_one_line_naming_the_new_one():
    result = subprocess.run([sys.executable, "-m", "pomona.spark.job", "--input", "in", "--output",
                             "out", "--threads-per-task", "2"], capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1].endswith("error: --threads-per-task: is now --threads")


def test_threads_and_batch_are_refused_in_the_same_words_by_every_face(pomona_bin, tmp_path,
                                                                         small_weights):
    cli = run_pomona(pomona_bin, "featurize", tmp_path, tmp_path / "o.parquet", "--threads", "-1",
                     check=False)
    assert cli.returncode == 2
    assert cli.stderr.splitlines()[0] == "--threads: must be 0 (all cores) to 1024, not -1"
    with pytest.raises(ValueError, match=r"^threads must be 0 \(all cores\) to 1024, not -1$"):
        pomona.featurize_batch(["a.jpg"], weights=str(small_weights), alpha=0.35, size=96,
                               threads=-1)
    job = subprocess.run([sys.executable, "-m", "pomona.spark.job", "--input", "in", "--output",
                          "out", "--batch", "0"], capture_output=True, text=True)
    assert job.returncode == 2
    assert job.stderr.splitlines()[-1].endswith("argument --batch: batch must be 1 to 256, not 0")
    cli = run_pomona(pomona_bin, "featurize", tmp_path, tmp_path / "o.parquet", "--batch", "0",
                     check=False)
    assert cli.stderr.splitlines()[0] == "--batch: must be 1 to 256, not 0"
