# VIPER with Nix: `nix develop` (a shell to work on the checkout), `nix run` (the `viper` command),
# `nix run .#viper-sim` (the simulated gauge), `nix build` (the package), `nix flake check` (the tests).
#
# pyproject.toml stays the one description of the package: this file lists the same dependencies
# under nixpkgs' names, and tests/system/test_flake.py fails when the two disagree.
{
  description = "VIPER: records a KJLC 392 ion gauge controller (IG, CG1, CG2) to HDF5";

  # A release branch, so Python packages change only by fixes. No flake.lock is committed: one
  # cannot be made without network. The first `nix develop` writes it; committing it pins nixpkgs.
  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-25.11";

  outputs =
    { self, nixpkgs }:
    let
      lib = nixpkgs.lib;
      systems = [
        "x86_64-linux"
        "aarch64-linux"
        "x86_64-darwin"
        "aarch64-darwin"
      ];
      forAllSystems = f: lib.genAttrs systems (system: f system nixpkgs.legacyPackages.${system});

      # pyproject.toml [project.dependencies], by nixpkgs attribute name.
      runtimeDeps = ps: [
        ps.textual
        ps.pyserial
        ps.h5py
        ps.orjson
        ps.plotext
      ];
      # pyproject.toml [project.optional-dependencies] test (textual-serve is also the `web` extra).
      testDeps = ps: [
        ps.mypy
        ps.textual-serve
        ps.pytest
        ps.hypothesis
        ps.pytest-asyncio
        ps.import-linter
        ps.apprise # also the `notify` extra ([Alarm NAME] notify =)
      ];

      # Built from PyPI wheels where nixpkgs lacks the version pyproject.toml needs. The hashes are
      # the sha256 of the wheels pip downloaded, in SRI form. The versions are those the pip route
      # was tested with. Every other dependency is nixpkgs' own: the build's runtime-dependency
      # check refuses one whose version is outside pyproject.toml's range.
      pypiWheels = {
        # pyproject.toml: textual>=8.2,<9; nixpkgs 25.11 has textual 6.
        textual = {
          version = "8.2.8";
          hash = "sha256-JnN1/UAtyNmBRXIS76cfDjNl/Re7oUS6m7PtdWPLN0o=";
          deps = ps: [
            ps.markdown-it-py
            ps.linkify-it-py
            ps.mdit-py-plugins
            ps.platformdirs
            ps.pygments
            ps.rich
            ps.typing-extensions
          ];
        };
        # textual 8.2 requires rich>=14.2.0, newer than nixpkgs 25.11 may have.
        rich = {
          version = "15.0.0";
          hash = "sha256-M71O90Iy+3P+knmiV3GEB/FpwJt4qHrT0pb1SOJ94Ls=";
          deps = ps: [
            ps.markdown-it-py
            ps.pygments
          ];
        };
      };

      # pyproject.toml takes the version from viper_tui/__init__.py; so does this.
      version = builtins.head (
        builtins.concatMap (
          line:
          let
            found = builtins.match "__version__ = \"([^\"]+)\"" line;
          in
          if found == null then [ ] else found
        ) (
          builtins.filter builtins.isString (builtins.split "\n" (builtins.readFile ./viper_tui/__init__.py))
        )
      );

      # Only what the package is built from, so editing tests or docs does not rebuild it.
      source = lib.fileset.toSource {
        root = ./.;
        fileset = lib.fileset.unions [
          ./pyproject.toml
          ./README.md
          ./viper_tui
        ];
      };

      # The system's python3 with the pinned wheels and VIPER (`viper-tui`) in its package set.
      pythonFor =
        pkgs:
        let
          python = pkgs.python3.override {
            self = python;
            packageOverrides =
              final: prev:
              lib.mapAttrs (
                pname: pin:
                final.buildPythonPackage {
                  inherit pname;
                  inherit (pin) version;
                  format = "wheel";
                  src = pkgs.fetchPypi {
                    inherit pname;
                    inherit (pin) version hash;
                    format = "wheel";
                    dist = "py3";
                    python = "py3";
                  };
                  dependencies = pin.deps final;
                  pythonImportsCheck = [ pname ];
                }
              ) pypiWheels
              // {
                viper-tui = final.buildPythonPackage {
                  pname = "viper-tui";
                  inherit version;
                  pyproject = true;
                  src = source;
                  build-system = [ final.setuptools ];
                  dependencies = runtimeDeps final;
                  # The tests run in `checks` (they need the test tools and tmux).
                  doCheck = false;
                  pythonImportsCheck = [
                    "viper_tui.commands.record"
                    "viper_tui.simulator.cli"
                    "viper_tui.ui"
                  ];
                  meta = {
                    description = "Records a KJLC 392 ion gauge controller (IG, CG1, CG2) to HDF5";
                    license = lib.licenses.mit;
                    mainProgram = "viper";
                    platforms = lib.platforms.linux ++ lib.platforms.darwin;
                  };
                };
              };
          };
        in
        python;
    in
    {
      packages = forAllSystems (
        system: pkgs:
        let
          python = pythonFor pkgs;
        in
        {
          default = python.pkgs.toPythonApplication python.pkgs.viper-tui;
        }
      );

      apps = forAllSystems (
        system: pkgs:
        let
          viper = self.packages.${system}.default;
        in
        {
          default = {
            type = "app";
            program = "${viper}/bin/viper";
            meta.description = "Record the gauge: viper GAUGE_CONF REC_CONF, or viper --simulate";
          };
          viper-sim = {
            type = "app";
            program = "${viper}/bin/viper-sim";
            meta.description = "Serve the simulated gauge on a pseudo-terminal or TCP port";
          };
        }
      );

      devShells = forAllSystems (
        system: pkgs:
        let
          env = (pythonFor pkgs).withPackages (ps: runtimeDeps ps ++ testDeps ps ++ [ ps.setuptools ]);
          # `viper` and `viper-sim` run the checkout's code, so an edit takes effect at once.
          fromCheckout =
            name: module:
            pkgs.writeShellScriptBin name ''
              export PYTHONPATH="$VIPER_DIR''${PYTHONPATH:+:$PYTHONPATH}"
              exec ${env}/bin/python -m ${module} "$@"
            '';
        in
        {
          default = pkgs.mkShell {
            packages = [
              env
              pkgs.tmux
              (fromCheckout "viper" "viper_tui")
              (fromCheckout "viper-sim" "viper_tui.simulator")
            ];
            # VIPER_DIR: the checkout (the nearest folder up holding flake.nix, else the current one),
            # as the earlier tool's shell set it; config files write ${VIPER_DIR}/data/... PYTHONPATH
            # lets the tests and `python -m viper_tui` import the checkout.
            shellHook = ''
              VIPER_DIR="$PWD"
              while [ "$VIPER_DIR" != / ] && [ ! -e "$VIPER_DIR/flake.nix" ]; do VIPER_DIR="$(dirname "$VIPER_DIR")"; done
              [ -e "$VIPER_DIR/flake.nix" ] || VIPER_DIR="$PWD"
              export VIPER_DIR
              export PYTHONPATH="$VIPER_DIR''${PYTHONPATH:+:$PYTHONPATH}"
            '';
          };
        }
      );

      # `nix flake check`: the test suite against the built package, and the dev shell builds.
      checks = forAllSystems (
        system: pkgs:
        let
          env = (pythonFor pkgs).withPackages (ps: [ ps.viper-tui ] ++ testDeps ps);
        in
        {
          tests =
            pkgs.runCommand "viper-tests"
              {
                nativeBuildInputs = [
                  env
                  pkgs.tmux
                ];
              }
              ''
                cp ${./pyproject.toml} pyproject.toml
                cp -r ${./tests} tests
                chmod -R u+w tests
                # Not inside a build: nix-instantiate (test_flake.py) and systemd-analyze.
                HOME="$TMPDIR" python -m pytest -q -p no:cacheprovider tests --ignore=tests/system/test_flake.py \
                  --deselect tests/system/test_service.py::test_systemd_accepts_the_unit
                touch "$out"
              '';
          devShell = self.devShells.${system}.default;
        }
      );
    };
}
