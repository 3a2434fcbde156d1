"""`scrutiny import` / `scrutiny export`: sources, policy areas, commitments and targets as CSV,
through the gateway's public API (the format is described by the `import_commitments` operation).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from scrutiny_cli import credentials

IMPORT_PATH = "/v1/commitment-imports"
EXPORT_PATH = "/v1/commitment-exports"
CHUNK = 64 * 1024
# Below this a progress bar would only flicker.
LARGE_FILE = 256 * 1024
TIMEOUT = httpx.Timeout(30.0, read=600.0)

err = Console(stderr=True)


class TransferError(RuntimeError):
    """The API refused the request; the message says why (every bad row for an import)."""


def _bar(total: int | None, *, visible: bool) -> Progress:
    columns: list[Any] = [SpinnerColumn(), TextColumn("{task.description}"), BarColumn()]
    columns += [DownloadColumn(), TransferSpeedColumn()]
    if total:
        columns.append(TimeRemainingColumn())
    return Progress(*columns, console=err, transient=True, disable=not visible)


def _chunks(path: Path, advance: Callable[[int], None]) -> Iterator[bytes]:
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            advance(len(chunk))
            yield chunk


def _refused(resp: httpx.Response) -> TransferError:
    try:
        problem = resp.json()
    except ValueError:
        return TransferError(f"{resp.status_code}: {resp.text[:500]}")
    lines = [f"{problem.get('title', resp.status_code)}: {problem.get('detail', '')}".rstrip(": ")]
    lines += [f"  {e['detail']}" for e in problem.get("errors") or []]
    return TransferError("\n".join(lines))


def import_file(
    client: httpx.Client,
    path: Path,
    *,
    dry_run: bool = False,
    reason: str | None = None,
    progress: bool | None = None,
) -> dict[str, Any]:
    """Upload a CSV file to the import route, streaming it with a progress bar; the report."""
    size = path.stat().st_size
    visible = size >= LARGE_FILE if progress is None else progress
    params: dict[str, Any] = {"dry_run": str(dry_run).lower()}
    if reason:
        params["reason"] = reason
    with _bar(size, visible=visible) as bar:
        task = bar.add_task(f"uploading {path.name}", total=size)

        def advance(n: int) -> None:
            bar.advance(task, n)
            if bar.tasks[task].completed >= size:
                bar.update(task, description="importing (the server checks every row)")

        resp = client.post(
            IMPORT_PATH,
            params=params,
            content=_chunks(path, advance),
            headers={"Content-Type": "text/csv", "Content-Length": str(size)},
            timeout=TIMEOUT,
        )
    if resp.status_code != 200:
        raise _refused(resp)
    report: dict[str, Any] = resp.json()
    return report


def export_file(client: httpx.Client, path: Path | None, *, progress: bool | None = None) -> int:
    """Stream the export to a file (or stdout when `path` is None); returns the bytes written."""
    written = 0
    out = path.open("wb") if path else sys.stdout.buffer
    try:
        with client.stream("GET", EXPORT_PATH, timeout=TIMEOUT) as resp:
            if resp.status_code != 200:
                resp.read()
                raise _refused(resp)
            visible = path is not None if progress is None else progress
            with _bar(None, visible=visible) as bar:
                task = bar.add_task(f"exporting to {path.name if path else 'stdout'}", total=None)
                for chunk in resp.iter_bytes(CHUNK):
                    out.write(chunk)
                    written += len(chunk)
                    bar.advance(task, len(chunk))
    finally:
        if path:
            out.close()
        else:
            out.flush()
    return written


def _token(args: argparse.Namespace) -> str:
    if args.token:
        return str(args.token)
    if args.client_id or args.client_secret:
        if not (args.client_id and args.client_secret):
            raise TransferError("give both --client-id and --client-secret")
        creds: dict[str, Any] = {"client_id": args.client_id, "client_secret": args.client_secret}
    else:
        saved = credentials.load(args.data_dir / "credentials.json").get("demo_loader")
        if not saved:
            raise TransferError(
                f"no credentials: pass --client-id/--client-secret, or run `scrutiny up` so "
                f"{args.data_dir / 'credentials.json'} has a demo_loader client"
            )
        creds = saved
    token = credentials.token(gateway_url(args), creds)
    if token is None:
        raise TransferError("the gateway refused the client credentials")
    return token


def _client(args: argparse.Namespace, token: str | None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=gateway_url(args), headers=headers)


def gateway_url(args: argparse.Namespace) -> str:
    """The running suite's gateway: `--gateway-url`, else the one `--port-base` says."""
    return str(args.gateway_url or f"http://127.0.0.1:{args.port_base}")


def cmd_import(args: argparse.Namespace) -> int:
    """Import a CSV file: all or nothing; every bad row is printed."""
    try:
        with _client(args, _token(args)) as client:
            report = import_file(
                client, args.file, dry_run=args.dry_run, reason=args.reason, progress=args.progress
            )
    except (TransferError, httpx.HTTPError) as exc:
        err.print(f"[red]import refused[/red]: {exc}", highlight=False, markup=True)
        return 1
    print(json.dumps(report, indent=2))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """Export everything as CSV (public data: no credentials needed)."""
    path = None if str(args.output) == "-" else args.output
    try:
        with _client(args, None) as client:
            written = export_file(client, path, progress=args.progress)
    except (TransferError, httpx.HTTPError) as exc:
        err.print(f"[red]export failed[/red]: {exc}", highlight=False, markup=True)
        return 1
    if path:
        err.print(f"wrote {written} bytes to {path}", highlight=False)
    return 0


def _connection(p: argparse.ArgumentParser, default_data_dir: Path) -> None:
    p.add_argument(
        "--gateway-url", default=None, help="the gateway (default http://127.0.0.1:PORT_BASE)"
    )
    p.add_argument(
        "--port-base",
        type=int,
        default=8000,
        help="the port `scrutiny up --port-base` was given (default 8000)",
    )
    p.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="show a progress bar (default: for large files)",
    )
    p.add_argument(
        "--data-dir", type=Path, default=default_data_dir, help="where credentials.json is"
    )


def add_parsers(sub: Any, default_data_dir: Path) -> None:
    """Register `import` and `export` on the `scrutiny` command."""
    imp = sub.add_parser("import", help="import sources, areas, commitments and targets from CSV")
    imp.add_argument("file", type=Path, help="the CSV file (the format `scrutiny export` writes)")
    imp.add_argument("--dry-run", action="store_true", help="check and report; store nothing")
    imp.add_argument("--reason", help="reason recorded on revisions the import makes")
    imp.add_argument("--client-id", help="API client id (default: demo_loader in the data dir)")
    imp.add_argument("--client-secret", help="API client secret")
    imp.add_argument("--token", help=argparse.SUPPRESS)
    _connection(imp, default_data_dir)
    exp = sub.add_parser("export", help="export sources, areas, commitments and targets as CSV")
    exp.add_argument("-o", "--output", type=Path, default=Path("-"), help="file (default stdout)")
    _connection(exp, default_data_dir)


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "import": cmd_import,
    "export": cmd_export,
}
