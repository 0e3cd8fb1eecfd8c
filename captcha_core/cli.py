"""The command line: generate, extract, train, evaluate, predict and solve."""
from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

import cv2

from .config import DEFAULT, NETWORK_FIELDS, Config, with_network_settings
from .data import DatasetError, collect_images, generate_dataset, load_path, plural, reject_line
from .generator import DIFFICULTIES, alphabet_problem, describe_levels, generate_captchas
from .imageio import InputRejected
from .choice import AUTO
from .models import MODEL_KINDS
from .resample import STRATEGIES

EXIT_OK, EXIT_REJECTED, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """Bad usage that argparse could not catch, such as an existing output."""


def say(message: str) -> None:
    """One line for people, on stderr, so stdout stays machine-readable."""
    print(message, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- generate and extract


def cmd_generate(args) -> int:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    items = generate_captchas(args.count, length=args.length, alphabet=args.alphabet, difficulty=args.difficulty, seed=args.seed)
    seen: Counter = Counter()
    for text, image in items:
        seen[text] += 1
        # A repeated text gets _<n>, which the loader drops when it reads the label back.
        name = text if seen[text] == 1 else f"{text}_{seen[text]}"
        path = out / f"{name}.png"
        if not cv2.imwrite(str(path), image):
            raise OSError(f"{path}: could not be written")
    say(f"wrote {len(items)} {args.difficulty} captchas to {out}")
    return EXIT_OK


def cmd_extract(args) -> int:
    dataset = load_path(args.captchas, DEFAULT, report=LoadPrinter())
    if not dataset.is_captchas:
        raise UsageError(f"{args.captchas} holds letter folders already; extract takes captchas")
    out = Path(args.out)
    counters: Counter = Counter()
    total = len(dataset.letters)
    for i, (image, label) in enumerate(zip(dataset.letters.images, dataset.letters.labels), 1):
        folder = out / safe_folder_name(label)
        folder.mkdir(parents=True, exist_ok=True)
        counters[label] += 1
        cv2.imwrite(str(folder / f"{counters[label]}.png"), image)
        if i % 200 == 0 or i == total:
            say(f"\rextracted {i}/{total} letters")
    failed = int((~dataset.segment_ok).sum())
    say(f"{len(dataset.texts)} captchas, segmentation yield {dataset.segmentation_yield:.1%}; {failed} could not be cut and were left out")
    if dataset.labels_from:
        say(f"labels from {dataset.labels_from}")
    for name, why in dataset.skipped:
        say(reject_line(name, why))
    return EXIT_REJECTED if dataset.skipped else EXIT_OK


def safe_folder_name(label: str) -> str:
    """A class label as a folder name; labels are characters, but a '/' or '.' must not become a path."""
    return label if label.isalnum() else f"u{ord(label[0]):04x}"


# ---------------------------------------------------------------- train and evaluate


def config_from_args(args) -> Config:
    config = DEFAULT
    # Until auto has chosen, an explicit epochs/batch/rate is meant for whichever model trains.
    for kind in NETWORK_FIELDS:
        config = with_network_settings(config, kind, epochs=args.epochs, batch_size=args.batch_size, learning_rate=args.learning_rate)
    return config.with_(
        model=args.model,
        resample=args.resample,
        per_class=args.per_class,
        seed=args.seed,
        test_size=args.test_size,
        difficulty=args.difficulty,
        generate_count=args.count,
        time_limit_minutes=args.time_limit,
    )


class ProgressPrinter:
    """A text progress bar on stderr: redrawn in place on a terminal, one line per epoch otherwise."""

    width = 24

    def __init__(self, stream=sys.stderr):
        self.stream = stream
        self.tty = stream.isatty()

    def __call__(self, p) -> None:
        if p.phase != "training":
            if p.phase in ("preparing", "evaluating"):
                print(f"{p.phase}...", file=self.stream, flush=True)
            return
        if not p.step:
            return  # an epoch's opening report: nothing measured yet
        if p.unit == "trees":
            self.grown(p)
            return
        # The epoch's closing report is the one whose history holds it (with or without validation figures).
        end_of_epoch = p.step == p.steps and len(p.history.get("loss", ())) >= p.epoch
        if not self.tty and not end_of_epoch:
            return
        line = f"epoch {p.epoch}/{p.epochs} [{self.bar(p)}] {p.step}/{p.steps} loss {p.loss or 0:.3f} acc {p.accuracy or 0:.3f}"
        if p.val_accuracy is not None:
            line += f" val_acc {p.val_accuracy:.3f}"
        if p.eta_seconds is not None:
            line += f" ETA {p.eta_seconds:.0f}s"
        self.draw(line, end_of_epoch)

    def grown(self, p) -> None:
        """The forest's trees: redrawn in place on a terminal, one line once they are all grown otherwise."""
        if not self.tty and p.step < p.steps:
            return
        self.draw(f"forest [{self.bar(p)}] {p.step}/{p.steps} trees", p.step == p.steps)

    def bar(self, p) -> str:
        """The report's step of its steps as a bar of `width` characters."""
        filled = int(self.width * p.step / max(p.steps, 1))
        return "#" * filled + "." * (self.width - filled)

    def draw(self, line: str, last: bool) -> None:
        draw_line(self.stream, self.tty, line, last)


def draw_line(stream, tty: bool, line: str, last: bool) -> None:
    """A line over the previous one on a terminal (a new line once `last`), else a line of its own."""
    if tty:
        print("\r" + line, end="\n" if last else "", file=stream, flush=True)
    else:
        print(line, file=stream, flush=True)


class LoadPrinter:
    """Loading progress on stderr: a count redrawn in place on a terminal, a line per stage otherwise."""

    def __init__(self, stream=sys.stderr):
        self.stream = stream
        self.tty = stream.isatty()

    def __call__(self, stage: str, done: int, total: int) -> None:
        if self.tty:
            draw_line(self.stream, True, f"{stage}: {done:,} of {total:,}", done == total)
        elif done == 0 and total:
            draw_line(self.stream, False, f"{stage}: {total:,}...", True)


def load_training_data(args, config: Config):
    """The dataset named by --data, or the built-in generator's when none is named."""
    if args.data in (None, "builtin"):
        return generate_dataset(config, report=LoadPrinter())
    return load_path(args.data, config, report=LoadPrinter())


def cmd_train(args) -> int:
    from .persistence import save_training
    from .training import choose_model, train

    config = config_from_args(args)
    out = Path(args.out)
    if out.exists() and not args.overwrite:
        raise UsageError(f"{out} already exists; choose another name or pass --overwrite")
    dataset = load_training_data(args, config)
    for name, why in dataset.skipped:
        say(reject_line(name, why))
    describe_dataset(dataset)
    _, choice = choose_model(dataset, config)  # said before the epochs, not minutes later (train decides it again)
    if choice:
        say(f"model: {choice['chosen']} ({choice['reason']})")
    result = train(dataset, config, progress=ProgressPrinter(), leaky_seed_protocol=args.leaky_seed_protocol)
    save_training(result, dataset, out, overwrite=args.overwrite)
    summary = {**result.report.to_dict(), "model": str(out), "protocol": result.protocol, "seconds": result.seconds,
               "split_sizes": result.split.sizes(), "segmentation_yield": dataset.segmentation_yield,
               "model_kind": result.config.model, "model_choice": result.choice}
    emit(summary, args.json, human_report)
    return EXIT_REJECTED if dataset.skipped else EXIT_OK


def describe_dataset(dataset) -> None:
    if dataset.is_captchas:
        say(f"{plural(len(dataset.texts), 'captcha')}, {plural(len(dataset.letters), 'letter')}, "
            f"{plural(len(dataset.letters.class_counts()), 'class')}; segmentation cut {dataset.segmentation_yield:.1%} "
            f"of them into as many pieces as their labels have characters (forced cuts included), "
            f"{dataset.clean_cut_share:.1%} cleanly (the ink fell apart by itself)")
        if dataset.labels_from:
            say(f"labels from {dataset.labels_from}")
    else:
        say(f"{plural(len(dataset.letters), 'letter')}, {plural(len(dataset.letters.class_counts()), 'class')}")


def cmd_evaluate(args) -> int:
    from .evaluation import evaluate
    from .models import reads_whole
    from .persistence import load_model, reading_lengths
    from .review import scoring_scope

    loaded = load_model(args.model)
    letter_size = int(loaded.metadata.get("letter_size", DEFAULT.letter_size))
    config = DEFAULT.with_(letter_size=letter_size)
    dataset = load_path(args.data, config, report=LoadPrinter())
    for name, why in dataset.skipped:
        say(reject_line(name, why))
    describe_dataset(dataset)
    unknown = sorted(set(dataset.letters.labels.tolist()) - set(loaded.labels))
    if unknown:
        say(f"note: the data has classes the model never saw: {' '.join(unknown)}")
    # Only a sequence model keeps to the lengths it learnt; the letter models are scored cut to the data's own.
    trained = reading_lengths(loaded.metadata) if reads_whole(loaded.classifier) else ()
    other = sorted(set(dataset.lengths) - set(trained)) if dataset.is_captchas and trained else []
    if other:
        say(f"note: the model learnt captchas of {' or '.join(map(str, trained))} characters and these have "
            f"{' or '.join(map(str, other))}, so it may read them {length_misread(trained, other)}; "
            "`solve --length N` asks it for N")
    # What it learnt from is left out, as the Evaluate page leaves it out: scoring it would boast.
    scope = scoring_scope(loaded.classifier, dataset, loaded.metadata, loaded.trained_on)
    if scope.exact:
        unseen = "captchas" if dataset.is_captchas else "letters"
        say("note: this is the data the model was trained on, so only the test split it held out is scored; "
            f"to score it on more, evaluate on {unseen} it never saw")
        if loaded.metadata.get("protocol") == "leaky-seed":
            say("note: this model was trained with the leaky protocol, so copies of these test letters were in its "
                "training data and the score is inflated")
    report = evaluate(loaded.classifier, dataset, scope.letters, scope.captchas)
    scored = scope.describe(report, reads_whole(loaded.classifier))
    emit({**report.to_dict(), "model": str(args.model), "segmentation_yield": dataset.segmentation_yield, "scored_on": scored},
         args.json, human_report)
    return EXIT_REJECTED if dataset.skipped else EXIT_OK


def length_misread(learnt: list[int], found: list[int]) -> str:
    """How a model keeping to the lengths it learnt misreads captchas of other lengths: too short, too long, or both."""
    short, long = max(found) > max(learnt), min(found) < min(learnt)
    return "too short or too long" if short == long else "too short" if short else "too long"


def human_report(summary: dict) -> str:
    if "character_accuracy_basis" in summary:  # the sequence model: nothing was cut into letters
        lines = [f"character accuracy: {summary['letter_accuracy']:.2%} of {summary['n_test_letters']} test characters "
                 f"({summary['character_accuracy_basis']})"]
    else:
        lines = [f"letter accuracy: {summary['letter_accuracy']:.2%} on {summary['n_test_letters']} test letters"]
    if summary.get("captcha_accuracy") is not None:
        solved = summary.get("solved_character_accuracy")
        per_character = f", {solved:.2%} of their characters" if solved is not None else ""
        uncut = summary["segmentation_failures_in_test"]  # never any for the sequence model, which does not cut
        lines.append(f"whole-captcha accuracy: {summary['captcha_accuracy']:.2%} on {summary['n_test_captchas']} test captchas, "
                     f"read as `solve` reads them{per_character}"
                     + (f" ({uncut} could not be segmented and count as wrong)" if uncut else ""))
    if summary.get("scored_on"):
        lines.append(f"scored on {summary['scored_on']}")
    lines += advice_lines(summary)
    if "protocol" in summary:
        lines.append(f"protocol: {summary['protocol']}; model saved to {summary['model']}")
    return "\n".join(lines)


# ---------------------------------------------------------------- predict and solve


def cmd_predict(args) -> int:
    from .prediction import Predictor, captcha_shape_note, letter_problem

    predictor = Predictor.from_folder(args.model)
    images, rejected = collect_images(args.images)
    # A blank image would still get a top class, read as if the model saw a letter.
    problems = [letter_problem(im) for _, im in images]
    blank = [(name, problem) for (name, _), problem in zip(images, problems) if problem]
    images = [image for image, problem in zip(images, problems) if not problem]
    readings = predictor.read_letters([im for _, im in images], k=args.top)
    rows = [{"file": name, "label": r.label, "confidence": r.confidence, "top": [[l, p] for l, p in r.top],
             "note": shape_note(captcha_shape_note(im))}
            for (name, im), r in zip(images, readings)]
    return finish_batch(rows, rejected + blank, args.json, letter_line)


def shape_note(note: str) -> str:
    """The captcha-shape note with where to go instead, or ""."""
    return f"{note}; `solve` cuts a captcha into letters first" if note else ""


def letter_line(row: dict) -> str:
    """'a.png: a (97.0%), then e 2.1%, c 0.4%': the reading and the runners-up --top asked for."""
    runners_up = ", ".join(f"{label} {p:.1%}" for label, p in row["top"][1:])
    line = f"{row['file']}: {row['label']} ({row['confidence']:.1%})" + (f", then {runners_up}" if runners_up else "")
    return with_note(line, row)


def with_note(line: str, row: dict) -> str:
    """The answer line, and the row's note after it when there is one."""
    return f"{line}; note: {row['note']}" if row.get("note") else line


def cmd_solve(args) -> int:
    from .prediction import NOTHING_READ, Predictor, cut_problem, size_note

    predictor = Predictor.from_folder(args.model)
    collected = collect_images(args.images)
    images, rejected = collected
    readings = predictor.solve_many([im for _, im in images], length=args.length)
    expected = args.length or predictor.captcha_length
    rows, unread = [], []
    for (name, image), r in zip(images, readings):
        if not r.text:  # nothing to answer with: an empty line would look like a crash
            rejected.append((name, NOTHING_READ if predictor.reads_whole else cut_problem(0, expected)))
            unread.append(name)
            continue
        notes = ["" if r.segmented_ok else cut_problem(len(r.boxes), expected),
                 size_note(image, predictor.image_sizes, predictor.config.size_tolerance)]
        note = "; ".join(filter(None, notes))
        rows.append({"file": name, "text": r.text, "confidence": r.confidence, "note": note})
    lengths = (args.length,) if args.length else predictor.captcha_lengths
    score = score_by_names(rows, unread, predictor.labels, lengths, collected.texts)
    code = finish_batch(rows, rejected, args.json, lambda r: with_note(f"{r['file']}: {r['text']} ({r['confidence']:.1%})", r))
    if score:
        say(score)  # after the readings, where a long list ends
    return code


def score_by_names(rows: list[dict], unread: list[str], labels, lengths, given: dict[str, str] | None = None) -> str | None:
    """Give each reading whose text this model could read is known its `truth`, and say how many were right (None
    when none is known). The text is the one a label list or sidecar `given` it, else the one in its file name;
    `unread` names the images read as nothing, which count as wrong."""
    from .labels import readable_text
    from .prediction import right_by_names, truths_in_names

    given = given or {}
    names = [row["file"] for row in rows] + unread
    known = {str(label) for label in labels}
    truths = truths_in_names(names, labels, lengths)
    for i, name in enumerate(names):
        if name in given:  # a list or sidecar says what the text is, whatever the name
            truths[i] = given[name] if readable_text(given[name], known, lengths) else None
    for row, truth in zip(rows, truths):
        if truth is not None:
            row["truth"] = truth
    # The unread were read as nothing, which no truth equals.
    right, named = right_by_names([row["text"] for row in rows] + [""] * len(unread), truths)
    if not named:
        return None
    from_lists = sum(name in given for name, truth in zip(names, truths) if truth is not None)
    basis = ("the text in their file names" if not from_lists else "their label lists and sidecar .txt files"
             if from_lists == named else f"label lists and sidecar .txt files for {from_lists:,}, file names for the rest")
    return f"read right: {right:,} of {named:,} ({right / named:.2%}), going by {basis}"


def finish_batch(rows: list[dict], rejected: list[tuple[str, str]], as_json: bool, line) -> int:
    """Print answers for the good inputs and one line per rejected input; exit 1 if any was rejected."""
    for name, why in rejected:
        say(reject_line(name, why))
    if as_json:
        rows = rows + [{"file": name, "error": why} for name, why in rejected]
        print(readable_json(rows))
    else:
        for row in rows:
            print(line(row))
    if not rows and not rejected:
        say("no images given")
        return EXIT_USAGE
    return EXIT_REJECTED if rejected else EXIT_OK


def readable_json(value, indent: int = 0) -> str:
    """Indented JSON with each list of plain numbers on one line: a 19-class confusion matrix is 19 lines, not 400."""
    pad, inner = " " * indent, " " * (indent + 2)
    if isinstance(value, dict) and value:
        items = [f"{inner}{json.dumps(str(k))}: {readable_json(v, indent + 2)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + f"\n{pad}}}"
    if isinstance(value, (list, tuple)) and value:
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
            return json.dumps(list(value))
        return "[\n" + ",\n".join(f"{inner}{readable_json(v, indent + 2)}" for v in value) + f"\n{pad}]"
    return json.dumps(value)


def advice_lines(summary: dict) -> list[str]:
    """The report's note and hint (a time limit, a training that never got going) as lines for people."""
    return [f"note: {summary[advice]}" for advice in ("note", "hint") if summary.get(advice)]


def emit(summary: dict, as_json: bool, human) -> None:
    """The report on stdout: JSON, or lines for people. Beside JSON the advice goes to stderr too, where a person
    running the command sees it."""
    if not as_json:
        print(human(summary))
        return
    print(readable_json(summary))
    for line in advice_lines(summary):
        say(line)


# ---------------------------------------------------------------- parser


EXAMPLES = """examples:
  python -m captcha_core generate --out caps --count 600
  python -m captcha_core train --data caps --out models/mine    # picks the letter CNN or the sequence model
  python -m captcha_core solve --model models/mine new_captchas/
  python -m captcha_core evaluate --model models/mine --data labelled_captchas.zip

An IMAGE, --data or --captchas can be a file, a folder or a .zip. Captchas are labelled by their file
name up to the first '_', '-' or '.' (abcd_2.png reads abcd), by a sidecar abcd_2.txt, or by a labels.csv
of file,text rows; letter folders hold one subfolder per class."""


def per_network(setting: str) -> str:
    """A network setting's defaults for the two networks, e.g. 'letter CNN 10, sequence model 60'."""
    cnn, sequence = (getattr(DEFAULT, NETWORK_FIELDS[kind][setting]) for kind in ("cnn", "sequence"))
    return f"letter CNN {cnn:g}, sequence model {sequence:g}"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m captcha_core", description="Captcha Lab: captchas in, a trained letter reader out.",
                                     epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    model_help = "model folder written by train"
    json_help = "print the results as JSON on stdout (messages stay on stderr)"

    p = sub.add_parser("generate", help="write built-in synthetic captchas named <text>.png")
    p.add_argument("--out", required=True, help="folder to write (created if missing)")
    p.add_argument("--count", type=positive, required=True, help="captchas to write")
    p.add_argument("--length", type=positive, default=DEFAULT.captcha_length, help="characters per captcha (default: %(default)s)")
    p.add_argument("--alphabet", default=DEFAULT.alphabet, type=alphabet,
                   help="characters to draw from, letters and digits only (default: %(default)s)")
    p.add_argument("--difficulty", choices=DIFFICULTIES, default=DEFAULT.difficulty,
                   help=f"{describe_levels('; ')} (default: %(default)s)")
    p.add_argument("--seed", type=int, default=DEFAULT.seed, help="same seed, same captchas (default: %(default)s)")
    p.set_defaults(func=cmd_generate)

    p = sub.add_parser("extract", help="cut labelled captchas into letter folders DIR/<label>/<n>.png")
    p.add_argument("--captchas", required=True, help="folder or .zip of labelled captchas")
    p.add_argument("--out", required=True, help="folder to write the letter folders to")
    p.set_defaults(func=cmd_extract)

    p = sub.add_parser("train", help="split, resample the training split, train, evaluate on the test split, save")
    p.add_argument("--data", help="folder or .zip of captchas or letter folders (default: the built-in generator)")
    p.add_argument("--out", required=True, help="model folder to write")
    p.add_argument("--model", choices=(AUTO, *MODEL_KINDS), default=AUTO,
                   help="auto (default): the letter CNN when segmentation cuts enough training captchas, else sequence")
    p.add_argument("--epochs", type=positive, help=f"default: {per_network('epochs')}; the sequence model's is a limit "
                   f"(small sets end {DEFAULT.sequence_decay_epochs} epochs after it starts reading, large ones when it stops improving)")
    p.add_argument("--batch-size", type=positive, help=f"default: {per_network('batch_size')}; the sequence model "
                   f"takes smaller ones on small sets, down to {DEFAULT.sequence_min_batch}")
    p.add_argument("--learning-rate", type=float, help=f"Adam's rate; default: {per_network('learning_rate')} "
                   "(the sequence model's is scaled with its batch)")
    p.add_argument("--resample", choices=STRATEGIES, help=f"of the training split only, for the letter models (default: {DEFAULT.resample})")
    p.add_argument("--per-class", type=positive, help="letters per class after resampling (default: the largest class "
                   "for bootstrap, the smallest for downsample)")
    p.add_argument("--seed", type=int, help=f"for the split, resampling and starting weights (default: {DEFAULT.seed})")
    p.add_argument("--test-size", type=fraction, help=f"share of the captchas (or letters) held out for the test (default: {DEFAULT.test_size})")
    p.add_argument("--difficulty", choices=DIFFICULTIES, help=f"built-in data only (default: {DEFAULT.difficulty})")
    p.add_argument("--count", type=positive, help=f"built-in data only: captchas to generate (default: {DEFAULT.generate_count})")
    p.add_argument("--time-limit", type=minutes, metavar="MINUTES",
                   help="stop the network's training after this many minutes and keep the model it has (default: none)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing model folder")
    p.add_argument("--leaky-seed-protocol", action="store_true", help="teaching only: resample before the split, as the original blog code did")
    p.add_argument("--json", action="store_true", help=json_help)
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("evaluate", help="score a model on labelled data")
    p.add_argument("--model", required=True, help=model_help)
    p.add_argument("--data", required=True, help="folder or .zip of labelled captchas or letter folders")
    p.add_argument("--json", action="store_true", help=json_help)
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("predict", help="read single-letter images")
    p.add_argument("--model", required=True, help=model_help)
    p.add_argument("--top", type=positive, default=DEFAULT.top_k, help="labels to list per letter (default: %(default)s)")
    p.add_argument("--json", action="store_true", help=json_help)
    p.add_argument("images", nargs="+", metavar="IMAGE", help="letter images, folders or .zip files")
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser("solve", help="read whole captchas")
    p.add_argument("--model", required=True, help=model_help)
    p.add_argument("--length", type=positive, help="characters per captcha (default: from the model)")
    p.add_argument("--json", action="store_true", help=json_help)
    p.add_argument("images", nargs="+", metavar="IMAGE", help="captcha images, folders or .zip files")
    p.set_defaults(func=cmd_solve)
    return parser


def positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def alphabet(text: str) -> str:
    problem = alphabet_problem(text)
    if problem:
        raise argparse.ArgumentTypeError(problem)
    return text


def minutes(text: str) -> float:
    value = float(text)
    if not value > 0:  # also refuses nan
        raise argparse.ArgumentTypeError(f"must be more than 0, not {text}")
    return value


def fraction(text: str) -> float:
    value = float(text)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, not {value}")
    return value


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except UsageError as exc:
        say(f"error: {exc}")
        return EXIT_USAGE
    except (InputRejected, DatasetError, ValueError, OSError) as exc:
        say(f"error: {exc}")
        return EXIT_REJECTED
    except KeyboardInterrupt:
        say("interrupted")
        return 130
