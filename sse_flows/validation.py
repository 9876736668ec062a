"""One validation layer for the user parameters of every command and of the flow makers.

Every check here runs *before* anything is submitted or computed, and fails with one
line that names the parameter, what is wrong and the fix. The same functions serve the
command line (``submit``, ``demo``, ``train``, ``predict``, ``md``, ``analyze``, ``report``)
and Python users (:class:`~sse_flows.flows.discovery.DiscoveryFlowMaker` calls
:func:`check_discovery_parameters`), so both get the same rule and the same words. MD
protocol values are checked by :class:`~sse_flows.md.protocol.MDProtocol` itself; this
module only puts the command-line option names into its messages.

Exit codes of every ``sse-flows`` command (docs/index.md):

====  ==================================================================================
0     success
1     error: something that exists is broken or unreachable (a damaged store, a
      MongoDB that does not answer, an unreadable input file), or the work failed
2     usage: a bad option value, output path or configuration (SSE_FLOWS_*), refused
      before any work starts
3     the command ran but its verdict is a failure (an MD verdict "failed", a workflow
      with a FIZZLED stage)
130   the worker was stopped by SIGINT (Ctrl-C); 143: by SIGTERM
====  ==================================================================================
"""

from __future__ import annotations

import functools
import os
import re
import tempfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import click

from sse_flows.parameters import (  # noqa: F401 - re-exported: stages raise them from here
    DISCOVERY_OPTIONS,
    PROTOCOL_OPTIONS,
    ParameterError,
)

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_VERDICT_FAILED = 3
#: an MD control did not get its known answer (``demo``, ``results --check-controls``)
EXIT_CONTROL_FAILED = 4
EXIT_SIGINT = 130
EXIT_SIGTERM = 143

#: default upper bound on the atoms of an MD supercell (``md --max-atoms`` overrides it):
#: CHGNet on a CPU runs ~1 step/s at a few hundred atoms and needs ~0.7 MB per atom
DEFAULT_MAX_ATOMS = 2000

#: most splits (evaluation) or models per algorithm (vote) accepted; the paper uses 100
MAX_SPLITS = 1000

# --------------------------------------------------------------------------------------
# single values
# --------------------------------------------------------------------------------------
def check_int(
    name: str,
    value: Any,
    minimum: int | None = None,
    maximum: int | None = None,
    hint: str = "",
    option: str | None = None,
) -> int:
    """``value`` as an int within ``[minimum, maximum]``, or a :class:`ParameterError`.

    Parameters
    ----------
    name
        Parameter name used in the message.
    value
        The value to check (an ``int``; bools and non-integral numbers are refused).
    minimum, maximum
        Inclusive bounds (None: unbounded).
    hint
        Text added to the message (the fix, or why the bound exists).
    option
        Command-line option of the parameter.
    """
    suffix = f" {hint}" if hint else ""
    if isinstance(value, bool) or not isinstance(value, int):
        try:
            integral = float(value).is_integer()
        except (TypeError, ValueError):
            integral = False
        if not integral or isinstance(value, bool):
            raise ParameterError(name, f"must be a whole number, got {value!r}{suffix}", option)
        value = int(value)
    if minimum is not None and value < minimum:
        raise ParameterError(name, f"must be >= {minimum}, got {value}{suffix}", option)
    if maximum is not None and value > maximum:
        raise ParameterError(name, f"must be <= {maximum}, got {value}{suffix}", option)
    return value


def parse_algorithms(value: str | Iterable[str] | None, name: str = "algorithms") -> list[str]:
    """Algorithm keys of ``value`` ('all', 'gb,lgbm' or a list), refusing empty and unknown.

    Returns
    -------
    list of str
        Registry keys in the registry's order.
    """
    from sse_flows.models.registry import ALGORITHMS
    from sse_flows.models.registry import parse_algorithms as registry_parse

    fix = f"give 'all' or keys from {','.join(ALGORITHMS)}"
    items = value.split(",") if isinstance(value, str) else list(value or [])
    if not all(isinstance(item, str) for item in items):
        raise ParameterError(name, f"must be algorithm keys, got {value!r}; {fix}")
    if not any(item.strip() for item in items):
        raise ParameterError(name, f"is empty; {fix}")
    try:
        return registry_parse(items)
    except ValueError as exc:
        raise ParameterError(name, str(exc)) from None


def parse_temperatures(text: str, option: str = "--temperatures") -> tuple[float, ...]:
    """``"600,800"`` -> ``(600.0, 800.0)``; the range is checked by :class:`MDProtocol`."""
    try:
        values = tuple(float(part) for part in str(text).split(",") if part.strip())
    except ValueError:
        raise ParameterError(
            "temperatures",
            f"{text!r} is not a comma-separated list of numbers (K); write e.g. 600,800,1000",
            option,
        ) from None
    if not values:
        raise ParameterError("temperatures", "is empty; write e.g. 600,800,1000", option)
    return values


def parse_fallback_temperatures(text: str) -> tuple[float, ...]:
    """``"800"`` -> ``(800.0,)``; ``"none"`` (or empty) -> ``()``: no fallback."""
    if str(text).strip().lower() in ("", "none"):
        return ()
    return parse_temperatures(text, "--fallback-temperatures")


def option_names(message: str) -> str:
    """MDProtocol's field names in ``message`` replaced by the command-line options."""
    for field_name, option in PROTOCOL_OPTIONS.items():
        message = re.sub(rf"\b{field_name}\b", option, message)
    return message


def check_protocol(protocol: Any, name: str = "md_protocol"):
    """An :class:`MDProtocol` from a protocol, a dict or None; its errors as ParameterError."""
    from sse_flows.md.protocol import MDProtocol

    try:
        return MDProtocol.from_dict(protocol)
    except (TypeError, ValueError) as exc:
        raise ParameterError(name, str(exc)) from None


def check_md_size(structure, min_lattice_length: float, max_atoms: int | None) -> int:
    """The MD supercell's atom count, or a ParameterError when it exceeds ``max_atoms``."""
    from sse_flows.md.protocol import supercell_atoms

    atoms = supercell_atoms(structure, min_lattice_length)
    if max_atoms is not None and atoms > max_atoms:
        raise ParameterError(
            "max_atoms",
            f"the MD supercell of {structure.composition.reduced_formula} (lattice lengths >= "
            f"{min_lattice_length:g} A) has {atoms} atoms, over the limit of {max_atoms}; lower "
            "--min-lattice-length or raise --max-atoms",
        )
    return atoms


# --------------------------------------------------------------------------------------
# the discovery flow
# --------------------------------------------------------------------------------------
def check_discovery_parameters(params: Mapping[str, Any]) -> None:
    """Check the parameters of :class:`DiscoveryFlowMaker` (its field names).

    Raises
    ------
    ParameterError
        The first invalid parameter, with the problem and the fix.
    """
    from sse_flows.md.makers import MD_ENGINES

    choices = {
        "source": ("snapshot", "mp"),
        "recipe": ("open", "paper"),
        "md_engine": tuple(MD_ENGINES),
        "md_device": ("cpu", "cuda"),
    }
    for name, allowed in choices.items():
        if name in params and params[name] not in allowed:
            raise ParameterError(
                name, f"must be one of {', '.join(allowed)}, got {params[name]!r}"
            )
    if "algorithms" in params:
        parse_algorithms(params["algorithms"])
    splits_hint = "(the paper uses 100)"
    if "evaluation_splits" in params:
        check_int("evaluation_splits", params["evaluation_splits"], 2, MAX_SPLITS, splits_hint)
    if "evaluation_cluster_repeats" in params:
        check_int("evaluation_cluster_repeats", params["evaluation_cluster_repeats"], 1, 20)
    vote_splits = params.get("vote_splits")
    if vote_splits is not None:
        vote_splits = check_int("vote_splits", vote_splits, 1, MAX_SPLITS, splits_hint)
    elif "recipe" in params:
        from sse_flows.models.prediction import default_members

        vote_splits = default_members(params["recipe"])
    if params.get("min_votes") is not None:
        check_int(
            "min_votes",
            params["min_votes"],
            0,
            vote_splits,
            f"(at most the {vote_splits} models per algorithm, vote_splits)"
            if vote_splits is not None
            else "",
        )
    if "max_md" in params:
        check_int("max_md", params["max_md"], 0, hint="(0 runs only the controls)")
    if "md_scope" in params:
        from sse_flows.ranking.selection import parse_md_scope

        parse_md_scope(params["md_scope"])  # raises the ParameterError
    if params.get("md_top") is not None:
        md_top = check_int("md_top", params["md_top"], 0, hint="(0: the vote's candidates only)")
        if md_top and params.get("md_scope", "candidates") != "candidates":
            raise ParameterError(
                "md_top",
                f"adds to --md-scope candidates only; --md-scope {params['md_scope']} already "
                "chooses by acquisition (drop --md-top or use --md-scope candidates)",
            )
    if params.get("md_materials_per_job") is not None:
        check_int("md_materials_per_job", params["md_materials_per_job"], 1)
    if "md_processes" in params:
        check_int("md_processes", params["md_processes"], 1, 64,
                  "(one per CPU core of the machine that runs the MD is the useful most)")
    if params.get("md_max_atoms") is not None:
        check_int("md_max_atoms", params["md_max_atoms"], 1)
    for name in ("control_formula", "negative_control_formula"):
        if params.get(name) is not None:
            _check_li_formula(name, params[name])
    if params.get("structures_dir") is not None:
        path = Path(params["structures_dir"])
        if not path.is_dir():
            raise ParameterError(
                "structures_dir", f"{path} is not a folder; give a folder of structure files"
            )
    if params.get("training_path") is not None:
        check_training_table(params["training_path"])
    if "md_protocol" in params:
        check_protocol(params["md_protocol"])


def check_training_table(
    path: Path | str, name: str = "training_path", option: str = "--training"
) -> None:
    """Refuse, before any training, a user training table the training would refuse.

    The same rules the training applies, in the same words: the CSV is read and checked
    row by row (:func:`sse_flows.data.tables.load_training_table`: the columns
    ``formula`` and ``sigma_S_cm``, parseable formulas, numeric conductivities, no
    duplicate rows), then the class counts
    (:func:`sse_flows.models.evaluation.check_class_counts`: at least
    ``MIN_ROWS_PER_CLASS`` superionic and non-superionic rows, or the split protocol
    cannot stratify). Only the table is read: nothing is featurized or fitted.

    Raises
    ------
    ParameterError
        Naming the file, the rule and the counts, with the fix.
    """
    from sse_flows.constants import SUPERIONIC_THRESHOLD_S_CM
    from sse_flows.data.tables import load_training_table
    from sse_flows.models.evaluation import check_class_counts

    fix = "fix the CSV, or omit the option to use the packaged table"
    path = Path(path).expanduser()
    if not path.is_file():
        raise ParameterError(name, f"{path} is not a file; give a training CSV", option)
    try:
        table = load_training_table(path)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ParameterError(name, f"cannot use {exc}; {fix}", option) from None
    try:
        check_class_counts(table["label"].to_numpy())
    except ValueError as exc:
        threshold = f"{SUPERIONIC_THRESHOLD_S_CM:.0e}".replace("e-0", "e-")  # 1e-4
        raise ParameterError(
            name,
            f"{path}: {exc} (superionic: sigma_S_cm >= {threshold} S/cm); add rows of the "
            "smaller class, or omit the option to use the packaged table",
            option,
        ) from None


def _check_li_formula(name: str, formula: Any) -> None:
    from pymatgen.core import Composition

    try:
        composition = Composition(str(formula))
    except Exception:  # noqa: BLE001 - any parse problem is the same user error
        raise ParameterError(
            name, f"{formula!r} is not a chemical formula; write e.g. Li3PO4, or 'none'"
        ) from None
    if "Li" not in {el.symbol for el in composition.elements}:
        raise ParameterError(name, f"{formula!r} has no Li: a control must conduct Li ions")


# --------------------------------------------------------------------------------------
# files and folders
# --------------------------------------------------------------------------------------
def _first_existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


#: kernel file systems that show files but never take new ones (/proc, /sys, ...)
VIRTUAL_FILE_SYSTEMS = frozenset(
    {"proc", "sysfs", "cgroup", "cgroup2", "debugfs", "tracefs", "securityfs", "configfs",
     "pstore", "bpf", "efivarfs", "fusectl", "binfmt_misc", "autofs"}
)  # fmt: skip


def file_system_type(path: Path) -> str | None:
    """Type of the file system ``path`` lies on (``"proc"``, ``"ext4"``), from
    ``/proc/mounts``; None where that cannot be read (not Linux)."""
    try:
        lines = Path("/proc/mounts").read_text().splitlines()
    except OSError:
        return None
    path = Path(os.path.abspath(path))
    best, best_type = None, None
    for line in lines:
        fields = line.split()
        if len(fields) < 3:
            continue
        mount = Path(fields[1].replace("\\040", " "))
        if (path == mount or mount in path.parents) and (
            best is None or len(mount.parts) > len(best.parts)
        ):
            best, best_type = mount, fields[2]
    return best_type


def _probe_writable(folder: Path) -> str | None:
    """None when a file can be created in ``folder``, else the reason."""
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".sse_flows_probe")
    except OSError as exc:
        kind = file_system_type(folder)
        if kind in VIRTUAL_FILE_SYSTEMS:
            return f"a {kind} file system, kept by the kernel: no regular file can be written there"
        return exc.strerror or type(exc).__name__
    os.close(fd)
    os.unlink(tmp)
    return None


def writable_folder_problem(folder: Path) -> str | None:
    """Why ``folder`` (which may not exist yet) cannot be created and written, or None."""
    folder = Path(folder).expanduser().absolute()
    existing = _first_existing(folder)
    if not existing.is_dir():
        where = "is" if existing == folder else f"is under {existing}, which is"
        return f"{folder} {where} a file, not a folder"
    reason = _probe_writable(existing)
    if reason:
        return f"cannot write in {existing} ({reason})"
    return None


def check_output_file(
    path: Path | str, name: str, inputs: Iterable[Path | str | None] = (), option: str = ""
) -> Path:
    """Refuse, before the work, an output file that cannot be written or is an input.

    Parameters
    ----------
    path
        The output file.
    name
        Parameter name used in the message.
    inputs
        Input files that the output must not overwrite.
    option
        Command-line option of the parameter.
    """
    path = Path(path).expanduser()
    resolved = path.resolve()
    for source in inputs:
        if source is not None and Path(source).expanduser().resolve() == resolved:
            raise ParameterError(
                name, f"{path} is also an input file; write the output to another file", option
            )
    if path.is_dir():
        raise ParameterError(name, f"{path} is a folder; give a file name", option)
    problem = writable_folder_problem(resolved.parent)
    if problem is None and path.exists() and not os.access(path, os.W_OK):
        problem = f"{path} is read-only"
    if problem:
        raise ParameterError(name, f"{problem}; choose another path", option)
    return path


def check_output_folder(path: Path | str, name: str, option: str = "") -> Path:
    """Refuse, before the work, an output folder that cannot be created or written."""
    path = Path(path).expanduser()
    problem = writable_folder_problem(path)
    if problem:
        raise ParameterError(name, f"{problem}; choose another folder", option)
    return path


def check_plot_file(path: Path | str, name: str = "plot", option: str = "--plot") -> Path:
    """An image path matplotlib can write (known extension, writable folder)."""
    path = check_output_file(path, name, option=option)
    suffix = path.suffix.lower().lstrip(".")
    if suffix:
        from matplotlib.figure import Figure

        formats = Figure().canvas.get_supported_filetypes()
        if suffix not in formats:
            raise ParameterError(
                name,
                f"{path}: matplotlib cannot write .{suffix} files; use .png, .pdf or .svg",
                option,
            )
    return path


def check_home(settings=None, write: bool = True) -> None:
    """Refuse a SSE_FLOWS_HOME that is a file, lies under a file or cannot be written.

    Parameters
    ----------
    settings
        Settings (default: the process settings; an empty SSE_FLOWS_HOME is refused when
        they are read).
    write
        Also require that files can be created there (every command that writes a store,
        a launch folder, a model cache or a report). Readers (``status``, ``results``,
        ``report -o``) need not write: they read a read-only home as it is.

    Raises
    ------
    sse_flows.settings.ConfigError
        With the problem and the fix.
    """
    from sse_flows.settings import ConfigError, get_settings

    settings = settings or get_settings()
    home = settings.HOME
    existing = _first_existing(home)
    if not existing.is_dir():
        where = "is" if existing == home else f"is under {existing}, which is"
        raise ConfigError(
            f"SSE_FLOWS_HOME={home} {where} a file, not a folder; set SSE_FLOWS_HOME to a "
            "folder (it is created if missing)."
        )
    if write:
        reason = _probe_writable(existing)
        if reason:
            raise ConfigError(
                f"SSE_FLOWS_HOME={home} cannot be written ({existing}: {reason}); set "
                "SSE_FLOWS_HOME to a writable folder."
            )


# --------------------------------------------------------------------------------------
# the command-line checks
# --------------------------------------------------------------------------------------
def _check_train(params: dict[str, Any]) -> None:
    parse_algorithms(params["algorithms"])
    if params.get("training") is not None:
        check_training_table(params["training"], "training")
    if params.get("save_doc") is not None:
        check_output_file(params["save_doc"], "save_doc", [params.get("training")], "--save-doc")
    if params.get("figures") is not None:
        check_output_folder(params["figures"], "figures", "--figures")


def _check_predict(params: dict[str, Any]) -> None:
    check_home(write=bool(params.get("cache", True)))
    check_output_file(
        params["output"],
        "output",
        [params.get("formulas_csv"), params.get("training")],
        "--output",
    )
    if params.get("training") is not None:
        check_training_table(params["training"], "training")
    if params.get("min_votes") is not None:
        from sse_flows.models.prediction import default_members

        n_models = params.get("n_splits") or default_members(params.get("recipe") or "open")
        check_int(
            "min_votes",
            params["min_votes"],
            0,
            n_models,
            f"(at most the {n_models} models per algorithm of --splits)",
            "--min-votes",
        )


def _check_analyze(params: dict[str, Any]) -> None:
    if params.get("temperatures"):
        parse_temperatures(params["temperatures"])
    if params.get("plot_path"):
        check_plot_file(params["plot_path"])


def _check_report(params: dict[str, Any]) -> None:
    if params.get("out_dir") is None:
        from sse_flows.settings import ConfigError

        try:
            check_home(write=True)
        except ConfigError as exc:  # only the report folder needs the home writable
            raise ConfigError(f"{exc} Or write the report elsewhere with -o FOLDER.") from None
    else:
        check_home(write=False)
    if params.get("out_dir") is not None:
        check_output_folder(params["out_dir"], "out", "--out")


def _check_discovery_command(params: dict[str, Any]) -> None:
    """``submit`` / ``demo``: the options (the flow maker checks them again) and the home."""
    if params.get("temperatures") is not None:
        parse_temperatures(params["temperatures"])
    fields = {
        "training_path": params.get("training"),
        "algorithms": params["algorithms"],
        "evaluation_splits": params["evaluation_splits"],
        "evaluation_cluster_repeats": params["evaluation_cluster_repeats"],
        "vote_splits": params["vote_splits"],
        "recipe": params.get("recipe", "open"),
        "min_votes": params["min_votes"],
        "max_md": params["max_md"],
        "md_max_atoms": params["md_max_atoms"],
        "md_processes": params.get("md_processes", 1),
        "md_scope": params.get("md_scope", "candidates"),
        "md_top": params.get("md_top"),
    }
    check_discovery_parameters(fields)
    if params.get("out") is not None:
        check_output_folder(params["out"], "out", "--out")
    check_home(write=True)


def _home_writer(params: dict[str, Any]) -> None:
    check_home(write=True)


def _home_reader(params: dict[str, Any]) -> None:
    check_home(write=False)


#: command -> check of its parsed parameters, run before the command does anything
CHECKS: dict[str, Callable[[dict[str, Any]], None]] = {
    "submit": _check_discovery_command,
    "demo": _check_discovery_command,
    "worker": _home_writer,
    "status": _home_reader,
    "results": _home_reader,
    "report": _check_report,
    "train": _check_train,
    "predict": _check_predict,
    "analyze": _check_analyze,
}


def register_check(command: str, check: Callable[[dict[str, Any]], None]) -> None:
    """Add the pre-work check of a command defined in its stage (e.g. ``md``), so this
    module never imports the stages above it."""
    CHECKS[command] = check

def run_checks(command: str, params: dict[str, Any]) -> None:
    """Run the checks of ``command`` on its parameters; errors become click errors.

    Parameter problems raise a click usage error (exit 2) naming the option; a bad
    SSE_FLOWS_HOME raises it too. ``params`` may be changed in place (options that only
    this layer reads are removed).
    """
    from sse_flows.settings import ConfigError

    check = CHECKS.get(command)
    if check is None:
        return
    try:
        check(params)
    except ParameterError as exc:
        raise exc.to_click() from None
    except ConfigError as exc:
        from sse_flows.stores import StoreError

        if isinstance(exc, StoreError):
            raise click.ClickException(str(exc)) from None
        raise click.UsageError(str(exc)) from None


def validated(command: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator: run the checks of ``command`` on the callback's parameters first."""

    def decorate(callback: Callable[..., Any]) -> Callable[..., Any]:
        if getattr(callback, "_sse_flows_validated", False):
            return callback

        @functools.wraps(callback)
        def wrapper(*args: Any, **params: Any) -> Any:
            run_checks(command, params)
            return callback(*args, **params)

        wrapper._sse_flows_validated = True  # type: ignore[attr-defined]
        return wrapper

    return decorate
