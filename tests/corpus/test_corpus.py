"""The hostile corpus, run the way a user meets it.

For every case (tests/corpus/cases.py): a good file is loaded into the case's feed; then the
hostile file lands in S3, the review page is asked for it over HTTP (never a 5xx; a refusal
names the place; a good file shows its values), and a real courier run on a real worker loads
it. Then: exact rows loaded / refused naming the place with the table unchanged / good rows
loaded and bad rows listed.

Each case is a transactional test (the worker must see its rows), flushed afterwards; the
worker and the bucket are shared by all of them. The corpus runs under low limits
(cases.LIMITS) so that small files can stand for bombs. The worker reads limits from its
environment, so the corpus starts its own worker, on its own queue, and sends its runs
there; the session's shared worker is not involved.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.test import Client, override_settings

from amperity_sources.celery import app as celery_app
from couriers.models import Courier
from couriers.services.runs import courier_run_start
from credentials.services import credential_create
from tests.conftest import ROOT, _test_database_url, wait_until
from tests.corpus import builders
from tests.corpus.cases import LIMITS, all_cases
from tests.corpus.harness import (
    case_courier,
    case_feed,
    load_good_file,
    outcome_problems,
    projected,
    put_objects,
    review_problems,
    start_worker,
    stop_worker,
    table_rows,
)
from tests.corpus.model import Case, Where
from tests.factories import make_credential, run_finished, run_here

pytestmark = pytest.mark.worker
CASES = all_cases()
QUEUE = "corpus"
BUCKET = "corpus-bucket"
RUN_TIMEOUT = 120


@dataclass
class CorpusWorker:
    bucket: str
    process: subprocess.Popen
    log: Path

    def finished(self, run):
        """The run once it has ended; fails at once if the worker died (a bomb that got
        through would otherwise make every later case wait for its timeout)."""
        if self.process.poll() is not None:
            raise AssertionError(f"the corpus worker died:\n{self.log.read_text()[-3000:]}")
        return run_finished(run)


@dataclass
class Corpus:
    worker: CorpusWorker
    credential: object
    client: Client

    @property
    def bucket(self) -> str:
        return self.worker.bucket

    def pgp_credential(self, name: str | None):
        if name is None:
            return None
        key = builders.pgp().keys[name]
        return credential_create(
            name=f"Corpus PGP {name}", kind="pgp", private_key=key.secret,
            passphrase=key.passphrase,
        )  # fmt: skip


@pytest.fixture(scope="module")
def corpus_worker(django_db_setup, s3, tmp_path_factory):
    """The corpus' own worker and bucket; runs started by the corpus go to its queue."""
    env = {k: str(v) for k, v in LIMITS.items()}
    env.update(DATABASE_URL=_test_database_url(), PYTHONUNBUFFERED="1")
    log = tmp_path_factory.mktemp("corpus-worker") / "worker.log"
    with override_settings(**LIMITS), pytest.MonkeyPatch.context() as patch:
        worker = start_worker(QUEUE, env, log, ROOT)
        send_task = celery_app.send_task

        def to_corpus_queue(name, *args, **kwargs):
            kwargs.setdefault("queue", QUEUE)
            return send_task(name, *args, **kwargs)

        patch.setattr(celery_app, "send_task", to_corpus_queue)
        try:
            s3.create_bucket(Bucket=BUCKET)
            yield CorpusWorker(BUCKET, worker, log)
        finally:
            stop_worker(worker)


@pytest.fixture
def corpus(corpus_worker, s3_endpoint, django_user_model):
    """A logged-in client and the S3 credential (the database is flushed after each case)."""
    user = django_user_model.objects.create_user("corpus-analyst", password="x")
    client = Client(raise_request_exception=False)  # a crash is a 500 to report, not to raise
    client.force_login(user)
    return Corpus(corpus_worker, make_credential(s3_endpoint, name="Corpus S3"), client)


def review(case: Case, where: Where, courier: Courier, corpus: Corpus):
    """The page a user reviews the hostile file on (Heap: the tables found in the bucket)."""
    if case.heap:
        return corpus.client.post(
            "/couriers/add/heap/",
            {"name": f"Review {case.id}", "credential": corpus.credential.pk,
             "bucket": where.bucket, "prefix": where.prefix, "data_source": "Heap Review"},
        )  # fmt: skip
    params = {"key": where.key(case.key), "member": case.review_member}
    if case.review_settings:
        params.update(
            settings_for=case.review_member, content_type=case.land_as["file/content-type"],
            compression="none", delimiter=",", quote='"', escape="", header_rows="1",
            encoding="utf-8",
        )  # fmt: skip
        params.update(case.review_settings)
    return corpus.client.get(f"/couriers/{courier.pk}/review/", params)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_file(case: Case, corpus: Corpus, s3):
    where = Where(corpus.bucket, f"corpus/{case.id}/")
    feed = case_feed(case)
    courier = case_courier(case, where, feed, corpus.credential, corpus.pgp_credential(case.pgp))
    if case.heap:  # the first dump, loaded by a Heap run (which records it as loaded)
        put_objects(s3, where, case.good_objects)
        good = run_here(courier, mode="all")
        assert good.status == "succeeded", f"the good dump did not load: {good.error}"
    else:
        load_good_file(case, feed, where)
    before = table_rows(feed)
    assert projected(case, before) == projected(case, case.good_rows), "the good load"

    put_objects(s3, where, case.objects)
    run = courier_run_start(courier=courier, mode="all", started_by="corpus")
    # The review page is read while the worker runs: neither writes what the other reads.
    problems = review_problems(case, review(case, where, courier, corpus))
    run = wait_until(
        lambda: corpus.worker.finished(run),
        timeout=RUN_TIMEOUT,
        interval=0.1,
        message=f"the run of {case.id} did not finish in {RUN_TIMEOUT} s",
    )
    rejects = list(run.rejects.filter(feed=feed))
    problems += outcome_problems(case, run, before, table_rows(feed), rejects)
    assert not problems, f"{case.id} ({case.area}): " + "; ".join(problems)


def test_the_corpus_is_big_enough():
    """The issue asks for at least 120 cases across every format and source it names."""
    assert len(CASES) >= 120
    assert {c.area for c in CASES} >= {
        "text", "json", "avro", "parquet", "compression", "archive", "pgp", "s3", "heap",
    }  # fmt: skip
