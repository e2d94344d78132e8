"""flake.nix, checked as far as a machine without network allows.

Nix cannot fetch nixpkgs here, so the flake is (a) parsed by `nix-instantiate --parse` (which also
refuses an undefined name) and (b) evaluated against a stand-in for nixpkgs (`STUB_NIXPKGS`) that
records how each package would be made instead of building it. What the evaluation yields (the
package's dependencies, the dev shell's Python, the apps, the pinned PyPI wheels) is compared with
pyproject.toml. Needs `nix-instantiate` (Debian package nix-bin).
"""

from __future__ import annotations

import base64
import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from tests.helpers import REPO

import viper_tui

FLAKE = REPO / "flake.nix"
PYPROJECT = REPO / "pyproject.toml"
SYSTEMS = {"x86_64-linux", "aarch64-linux", "x86_64-darwin", "aarch64-darwin"}
NIX_NAMES: dict[str, str] = {}
"""Distribution names whose nixpkgs attribute is not the normalised name itself (none so far)."""

STUB_NIXPKGS = r"""
{ flakeFile }:
let
  flake = import flakeFile;
  systems = [ "x86_64-linux" "aarch64-linux" "x86_64-darwin" "aarch64-darwin" ];
  genAttrs = names: f: builtins.listToAttrs (map (name: { inherit name; value = f name; }) names);
  lib = {
    inherit genAttrs;
    mapAttrs = builtins.mapAttrs;
    fileset.unions = files: files;
    fileset.toSource = { root, fileset }: drv "source" { files = map toString fileset; };
    licenses.mit = "mit";
    platforms.linux = [ "x86_64-linux" "aarch64-linux" ];
    platforms.darwin = [ "x86_64-darwin" "aarch64-darwin" ];
  };
  # A package is a record of how it was asked for; nothing is fetched or built.
  drv = name: attrs: attrs // { stubName = name; outPath = "/stub/${name}"; };
  # The nixpkgs Python packages the flake may name (a name not here fails the evaluation).
  nixpkgsPython = [
    "textual" "pyserial" "h5py" "plotext" "pytest" "hypothesis" "pytest-asyncio" "setuptools" "textual-serve"
    "import-linter" "mypy" "apprise" "orjson"
    "markdown-it-py" "linkify-it-py" "mdit-py-plugins" "platformdirs" "pygments" "rich"
    "typing-extensions"
  ];
  pythonWith = packageOverrides:
    let
      set = let final = base // packageOverrides final base; in final;
      base = genAttrs nixpkgsPython (name: drv name { fromNixpkgs = true; }) // {
        buildPythonPackage = args: drv args.pname args;
        toPythonApplication = package: package // { application = true; };
      };
    in {
      pkgs = set;
      withPackages = f: drv "python-env" { packages = f set; };
    };
  pkgsFor = system: {
    python3.override = { self, packageOverrides }: pythonWith packageOverrides;
    fetchPypi = args: drv "${args.pname}-${args.version}-wheel" { fetchPypi = args; };
    mkShell = args: drv "shell" args;
    writeShellScriptBin = name: text: drv name { inherit text; };
    runCommand = name: env: script: drv name (env // { inherit script; });
    tmux = drv "tmux" { };
  };
  nixpkgs = { inherit lib; legacyPackages = genAttrs systems pkgsFor; };
  outputs = flake.outputs { self = outputs; inherit nixpkgs; };

  name = package: package.stubName;
  walk = package: [ package ] ++ builtins.concatLists (map walk (package.dependencies or [ ]));
  wheel = package: {
    name = package.pname;
    value = {
      inherit (package) version format;
      fetch = { inherit (package.src.fetchPypi) pname version hash format dist python; };
      dependencies = map name package.dependencies;
    };
  };
  describe = system:
    let
      package = outputs.packages.${system}.default;
      shell = outputs.devShells.${system}.default;
      env = builtins.head (builtins.filter (p: name p == "python-env") shell.packages);
      scripts = builtins.filter (p: p ? text) shell.packages;
    in {
      package = {
        inherit (package) pname version pyproject;
        application = package.application or false;
        dependencies = map name package.dependencies;
        build-system = map name package.build-system;
        mainProgram = package.meta.mainProgram;
      };
      wheels = builtins.listToAttrs (map wheel (builtins.filter (p: p ? src && p.src ? fetchPypi) (walk package)));
      apps = builtins.mapAttrs (n: app: { inherit (app) type program; description = app.meta.description; })
        outputs.apps.${system};
      shell = {
        packages = map name shell.packages;
        python = map name env.packages;
        inherit (shell) shellHook;
        scripts = builtins.listToAttrs (map (p: { name = p.stubName; value = p.text; }) scripts);
      };
      checks = builtins.attrNames outputs.checks.${system};
    };
in {
  inherit (flake) description;
  nixpkgs = flake.inputs.nixpkgs.url;
  outputs = builtins.attrNames outputs;
  systems = genAttrs (builtins.attrNames outputs.packages) describe;
}
"""


def nix_instantiate() -> str:
    tool = shutil.which("nix-instantiate")
    if tool is None:
        pytest.fail("nix-instantiate not found: flake.nix cannot be checked. Install Nix "
                    "(Debian/Ubuntu: sudo apt-get install -y nix-bin)", pytrace=False)
    return tool


def nix(*args: str, cwd: Path) -> str:
    """nix-instantiate with a store that is never written, so it runs as any user, offline."""
    result = subprocess.run([nix_instantiate(), "--store", "dummy://", *args], capture_output=True,
                            text=True, cwd=cwd, timeout=120, env={**os.environ, "HOME": str(cwd)})
    assert result.returncode == 0, result.stderr
    return result.stdout


def evaluate(flake_dir: Path) -> dict:
    """The flake's outputs for every system, as the stand-in for nixpkgs records them."""
    stub = flake_dir / "stub-nixpkgs.nix"
    stub.write_text(STUB_NIXPKGS)
    return json.loads(nix("--eval", "--strict", "--json", str(stub), "--arg", "flakeFile",
                          str(flake_dir / "flake.nix"), cwd=flake_dir))


@pytest.fixture(scope="module")
def flake_copy(tmp_path_factory) -> Path:
    """flake.nix in a copy of what it reads, so variants of it can be evaluated beside it."""
    root = tmp_path_factory.mktemp("flake")
    for name in ("flake.nix", "pyproject.toml", "README.md"):
        shutil.copyfile(REPO / name, root / name)
    shutil.copytree(REPO / "viper_tui", root / "viper_tui", ignore=shutil.ignore_patterns("__pycache__"))
    return root


@pytest.fixture(scope="module")
def outputs(flake_copy) -> dict:
    return evaluate(flake_copy)


def evaluate_variant(flake_copy: Path, old: str, new: str) -> dict:
    text = FLAKE.read_text()
    assert old in text, f"{old!r} is no longer in flake.nix: update this test"
    variant = flake_copy.parent / (flake_copy.name + "-variant")
    shutil.rmtree(variant, ignore_errors=True)
    shutil.copytree(flake_copy, variant)
    (variant / "flake.nix").write_text(text.replace(old, new, 1))
    return evaluate(variant)


# --- what pyproject.toml asks for, and the comparison -------------------------------------------


def nix_name(requirement: Requirement) -> str:
    name = canonicalize_name(requirement.name)
    return NIX_NAMES.get(name, name)


def requirements(pyproject: dict) -> tuple[dict[str, Requirement], dict[str, Requirement]]:
    """[project.dependencies] and the `test` extra, by nixpkgs attribute name."""
    project = pyproject["project"]
    runtime = [Requirement(text) for text in project["dependencies"]]
    test = [Requirement(text) for text in project["optional-dependencies"]["test"]]
    return {nix_name(r): r for r in runtime}, {nix_name(r): r for r in test}


def required_by(distribution: str, version: str, extras: frozenset[str] = frozenset()) -> dict[str, Requirement]:
    """What a distribution at `version` requires (with extras resolved one level), from the
    installed copy's metadata; empty when the installed version is another one."""
    try:
        if importlib.metadata.version(distribution) != version:
            return {}
        texts = importlib.metadata.requires(distribution) or []
    except importlib.metadata.PackageNotFoundError:
        return {}
    found: dict[str, Requirement] = {}
    for text in texts:
        requirement = Requirement(text)
        markers = [dict(default_environment(), extra=extra) for extra in ("", *extras)]
        if requirement.marker and not any(requirement.marker.evaluate(m) for m in markers):
            continue
        found[nix_name(requirement)] = requirement
        for extra in requirement.extras:
            try:
                sub = importlib.metadata.version(requirement.name)
            except importlib.metadata.PackageNotFoundError:
                continue
            found.update({k: v for k, v in required_by(requirement.name, sub, frozenset({extra})).items()
                          if v.marker is not None})
    return found


def disagreements(outputs: dict, pyproject: dict) -> list[str]:
    """Every way the evaluated flake and pyproject.toml disagree, one line each."""
    runtime, test = requirements(pyproject)
    problems: list[str] = []
    for system, described in sorted(outputs["systems"].items()):
        package = described["package"]
        if sorted(package["dependencies"]) != sorted(runtime):
            problems.append(f"{system}: the package depends on {sorted(package['dependencies'])}, "
                            f"pyproject.toml on {sorted(runtime)}")
        missing = sorted((set(runtime) | set(test)) - set(described["shell"]["python"]))
        if missing:
            problems.append(f"{system}: the dev shell's Python lacks {missing}")
        pinned_requirers = {name: required_by(name, wheel["version"]) for name, wheel in described["wheels"].items()}
        for name, wheel in sorted(described["wheels"].items()):
            version = Version(wheel["version"])
            wanted = [runtime.get(name) or test.get(name)] + [needs.get(name) for needs in pinned_requirers.values()]
            for requirement in filter(None, wanted):
                if version not in requirement.specifier:
                    problems.append(f"{system}: wheel {name} {version} is outside {requirement}")
            lacking = sorted(set(pinned_requirers[name]) - set(wheel["dependencies"]))
            if lacking:
                problems.append(f"{system}: wheel {name} {version} lacks dependencies {lacking}")
    return problems


# --- the tests ------------------------------------------------------------------------------------


def test_flake_parses():
    tree = nix("--parse", str(FLAKE), cwd=REPO)
    assert "outputs" in tree and "nixpkgs" in tree


def test_parse_refuses_a_broken_flake(tmp_path):
    broken = tmp_path / "flake.nix"
    broken.write_text(FLAKE.read_text().replace("runtimeDeps final;", "runtimeDepz final;", 1))
    result = subprocess.run([nix_instantiate(), "--store", "dummy://", "--parse", str(broken)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and "undefined variable 'runtimeDepz'" in result.stderr


def test_every_system_has_the_package_the_apps_and_the_shell(outputs):
    assert set(outputs["systems"]) == SYSTEMS
    assert {"packages", "apps", "devShells", "checks"} <= set(outputs["outputs"])
    assert outputs["nixpkgs"].startswith("github:NixOS/nixpkgs/")
    scripts = tomllib.loads(PYPROJECT.read_text())["project"]["scripts"]
    for described in outputs["systems"].values():
        package = described["package"]
        assert package["pname"] == tomllib.loads(PYPROJECT.read_text())["project"]["name"]
        assert package["version"] == viper_tui.__version__
        assert package["pyproject"] is True and package["build-system"] == ["setuptools"]
        assert package["application"] and package["mainProgram"] == "viper"
        apps = described["apps"]
        assert set(apps) == {"default", "viper-sim"}
        assert apps["default"]["program"].endswith("/bin/viper")
        assert apps["viper-sim"]["program"].endswith("/bin/viper-sim")
        assert {Path(app["program"]).name for app in apps.values()} <= set(scripts)
        assert all(app["type"] == "app" and app["description"] for app in apps.values())
        assert {"python-env", "tmux", "viper", "viper-sim"} <= set(described["shell"]["packages"])
        assert "tests" in described["checks"]


def test_dependencies_match_pyproject(outputs):
    assert disagreements(outputs, tomllib.loads(PYPROJECT.read_text())) == []


def test_pinned_wheels_are_pypi_wheels_with_sha256_hashes(outputs):
    for described in outputs["systems"].values():
        assert "textual" in described["wheels"]  # nixpkgs lacks textual 8
        for name, wheel in described["wheels"].items():
            fetch = wheel["fetch"]
            assert (fetch["pname"], fetch["version"]) == (name, wheel["version"])
            assert wheel["format"] == fetch["format"] == "wheel" and fetch["dist"] == fetch["python"] == "py3"
            algorithm, _, digest = fetch["hash"].partition("-")
            assert algorithm == "sha256" and len(base64.b64decode(digest, validate=True)) == 32


def test_a_dependency_missing_from_the_flake_is_found(flake_copy):
    changed = evaluate_variant(flake_copy, "        ps.plotext\n      ];", "      ];")
    problems = disagreements(changed, tomllib.loads(PYPROJECT.read_text()))
    assert len(problems) == 2 * len(SYSTEMS)  # the package and the dev shell, on every system
    assert all("plotext" in problem for problem in problems)


def test_a_dependency_added_to_pyproject_is_found(outputs):
    pyproject = tomllib.loads(PYPROJECT.read_text())
    pyproject["project"]["dependencies"].append("numpy>=2")
    problems = disagreements(outputs, pyproject)
    assert len(problems) == 2 * len(SYSTEMS) and all("numpy" in problem for problem in problems)


def test_a_pin_outside_pyproject_range_is_found(flake_copy):
    changed = evaluate_variant(flake_copy, 'version = "8.2.8";', 'version = "9.0.0";')
    problems = disagreements(changed, tomllib.loads(PYPROJECT.read_text()))
    assert problems and all("textual 9.0.0 is outside textual<9,>=8.2" in p for p in problems)


def test_tests_left_out_of_the_nix_check_exist():
    """`checks` leaves out the tests that cannot run inside a Nix build; a rename must not hide more."""
    text = FLAKE.read_text()
    left_out = re.findall(r"--(?:ignore=|deselect )(tests/\S+)", text)
    assert left_out
    for item in left_out:
        path, _, name = item.partition("::")
        assert (REPO / path).is_file(), path
        assert not name or f"def {name}(" in (REPO / path).read_text(), item


def test_the_dev_shell_sets_viper_dir_to_the_checkout_and_runs_its_code(outputs, tmp_path):
    """The shell hook and the `viper` script, run by bash with this interpreter for the env's."""
    shell = outputs["systems"]["x86_64-linux"]["shell"]
    checkout = tmp_path / "checkout"
    (checkout / "configs" / "gauge").mkdir(parents=True)
    (checkout / "flake.nix").write_text("{}")
    hook = f"{shell['shellHook']}\nprintf '%s\\n%s\\n' \"$VIPER_DIR\" \"$PYTHONPATH\""

    def hook_sets(cwd: Path) -> list[str]:
        return subprocess.run(["bash", "-c", hook], cwd=cwd, capture_output=True, text=True, timeout=30,
                              env={"PATH": os.environ["PATH"]}).stdout.splitlines()

    assert hook_sets(checkout / "configs" / "gauge") == [str(checkout), str(checkout)]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert hook_sets(elsewhere) == [str(elsewhere), str(elsewhere)]
    script = re.sub(r"/stub/python-env/bin/python", sys.executable, shell["scripts"]["viper"])
    assert script != shell["scripts"]["viper"]
    result = subprocess.run(["bash", "-c", script, "viper", "--version"], capture_output=True, text=True,
                            timeout=60, cwd=tmp_path, env={"PATH": os.environ["PATH"], "VIPER_DIR": str(REPO)})
    assert result.returncode == 0 and result.stdout.strip() == f"viper {viper_tui.__version__}", result.stderr
