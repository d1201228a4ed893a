"""Sub-commands of the wiretrace command line (one module each, see pipeline.cli)."""

#: every command with its one-line help, in the order ``wiretrace --help`` lists them; the module
#: ``pipeline.commands.<name>`` defines its arguments and runs it
COMMANDS: dict[str, str] = {
    "run": "run the whole pipeline once on a folder, as a run of the Dagster job (shown in the UI)",
    "clean": "remove boilerplate from a page (text or HTML) or a JSON-lines batch",
    "sentences": "split a text file into sentences (JSON lines with offsets, normal form, hash)",
    "compare": "the sentences two documents share, found by the pipeline's own stages",
    "report": "write self-contained HTML reuse reports (one page per story)",
    "forget": "take a file's documents out of the marts (recorded; later runs do not bring them back)",
}
