"""Where the heavy per-document NLP runs: this process, local worker processes, or a Dask cluster.

    dask_scheduler=tcp://host:8786   map the work over that dask.distributed cluster
                                     (sentence splitting, claims, MinHash signatures)
    nlp_processes=N                  local worker processes (default: the CPUs this
                                     process may use; 1 = always in this process)

(`configure`, called with the settings' values where a run starts; PIPELINE_DASK_SCHEDULER
and PIPELINE_NLP_PROCESSES in the environment, see `pipeline.settings`.)

A batch (the kept paragraphs to split into sentences, the sentences to analyse for
claims) is cut into chunks of whole documents, in document order; each chunk is one
task; the results are concatenated in chunk order. Sentence splitting is per paragraph
and claim extraction per document, so the tables are the same wherever the chunks run.

Workers load the spaCy pipeline once, by package name, through the same `lru_cache`
as this process (`pipeline.nlp.load`): the cache lives in the worker process and is
reused by every later task on that worker.

Without a scheduler, a claims batch big enough to pay for it (MIN_POOL_SENTENCES)
runs in a pool of local worker processes, spawned once per process and kept for later
batches (a `pipeline run` over many batches starts them once, and later batches of
any reasonable size use them). A small batch (the seeds, a single new article) in a
process that has not loaded the model starts one worker when the batch is planned
(`prestart`), so the model loads on another core while this process reads and
validates, and its NLP runs there; a process that has the model keeps small batches
here. Sentence splitting starts the pool for batches of MIN_POOL_PARAGRAPHS paragraphs
or more (their claims would start it a moment later anyway) and uses a running pool
for any batch. With a scheduler, every non-empty batch goes to the cluster.

`start_split_sentences` and `start_extract_claims` hand a batch to the workers and
return at once (a `Pending`, or None when the batch would run here): the stages start
the next stage's NLP while this process runs the blocking suite in between.
"""
from __future__ import annotations

import atexit
import os
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from pipeline.claims import ClaimsOutput, SentenceInput

# Below these sizes a local pool costs more than it saves (spawning a worker and loading
# the model there takes ~4 s on the reference machine; the claims stage analyses ~90
# sentences/s per core and the sentence splitter ~3,000 paragraphs/s).
MIN_POOL_SENTENCES = 600
MIN_POOL_PARAGRAPHS = 1_000  # about 50 articles: their claims will start the pool anyway
# once the pool is running (an earlier batch of this process started it), smaller
# batches use it too: only pickling is left to pay
MIN_WARM_POOL_ITEMS = 64
MIN_POOL_TEXTS = 2_000  # MinHash of new paragraphs/documents on a running pool
CHUNKS_PER_WORKER = 4
# a batch of at least this many articles starts the pool when it begins (`prestart`):
# its claims (~15 sentences per news article) will use the pool anyway
PRESTART_MIN_FILES = 40
# a smaller batch, in a process that has not loaded the model, starts one worker: the
# model loads there on another core while this process reads, cleans and validates,
# and the batch's NLP runs there (instead of loading the model here, on the critical path)
SMALL_BATCH_WORKERS = 1


# ------------------------------------------------------------------ tasks (run anywhere)
def split_sentences_task(model: str, paragraphs: list[str]) -> list[list[tuple[int, int]]]:
    from pipeline.nlp import load_sentencizer
    from pipeline.sentences import split_paragraphs_into_sentences

    return split_paragraphs_into_sentences(load_sentencizer(model), paragraphs)


def extract_claims_task(model: str, sentences: list["SentenceInput"]) -> "ClaimsOutput":
    from pipeline.claims import extract_claims
    from pipeline.nlp import load

    return extract_claims(load(model), sentences)


def minhash_task(config: dict, texts: list[str]) -> list:
    from pipeline.neardup import NearDupConfig, signatures

    return signatures(texts, NearDupConfig.from_json(config))


def _warm(model: str) -> int:
    """Load both pipelines in a worker, so the first real task does not pay for it."""
    from pipeline.nlp import load, load_sentencizer

    load(model)
    load_sentencizer(model)
    return os.getpid()


def warm_server(model: str) -> None:
    """A warm NLP server's warm-up (`pipeline.warm`): both pipelines loaded, and leaving
    without tearing spaCy's modules down."""
    _warm(model)


# ------------------------------------------------------------------ chunking
def chunk_by_document(doc_ids: Sequence[str], n_chunks: int) -> list[tuple[int, int]]:
    """[start, end) ranges over `doc_ids` (grouped by document, in order) of about equal
    size, never splitting a document."""
    n = len(doc_ids)
    if n == 0:
        return []
    n_chunks = max(1, min(n_chunks, n))
    target = n / n_chunks
    ranges, start = [], 0
    for i in range(1, n + 1):
        boundary = i == n or doc_ids[i] != doc_ids[i - 1]
        if boundary and (i - start >= target or i == n):
            ranges.append((start, i))
            start = i
    return ranges


# ------------------------------------------------------------------ backends
_backend: dict[str, Any] = {"scheduler": None, "processes": None}  # set by `configure`


def configure(scheduler: str | None = None, processes: int | None = None) -> None:
    """Where this process's NLP runs from now on: a Dask scheduler's address, or up to
    `processes` local workers (None: the CPUs this process may use)."""
    _backend["scheduler"] = (scheduler or "").strip() or None
    _backend["processes"] = max(1, int(processes)) if processes else None


def scheduler_address() -> str | None:
    return _backend["scheduler"]


def local_processes() -> int:
    if _backend["processes"]:
        return _backend["processes"]
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


_lock = threading.Lock()
_clients: dict[str, Any] = {}
_pool = None
_pool_workers = 0  # the pool's max_workers
_pool_model: set[str] = set()
_warming: dict[str, list] = {}  # model -> futures of workers still loading it (`prestart`)


def _dask_client(address: str):
    from distributed import Client

    with _lock:
        client = _clients.get(address)
        if client is None or client.status not in {"running", "connecting", "newly-created"}:
            client = Client(address, set_as_default=False)
            _clients[address] = client
        return client


def _start_pool(workers: int, model: str) -> list:
    """Create the pool if needed and have each worker load `model`; the futures of the
    loading, empty if it was loaded before. Caller holds `_lock`.

    A pool smaller than `workers` (started for a small batch) is replaced by a full one."""
    global _pool, _pool_workers
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    if _pool is not None and _pool_workers < workers:
        _pool.shutdown(wait=False, cancel_futures=True)
        _pool = None
        _pool_model.clear()
        _warming.clear()
    if _pool is None:
        from pipeline.lifeline import watch_parent

        _pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                                    initializer=watch_parent, initargs=(os.getpid(),))
        _pool_workers = workers
        atexit.register(shutdown)
    if model in _pool_model:
        return []
    futures = _warming.get(model)
    if futures is None:
        futures = _warming[model] = [_pool.submit(_warm, model) for _ in range(workers)]
    return futures


def _local_pool(workers: int, model: str):
    with _lock:
        futures = _start_pool(workers, model)
        for f in futures:
            f.result()
        if futures:
            _pool_model.add(model)
            _warming.pop(model, None)
        return _pool


def prestart(model: str, n_files: int) -> bool:
    """Start the local pool and load `model` in its workers in the background.

    Called when a batch starts: the workers load spaCy while this process reads,
    cleans and validates the files, so the sentence splitter and the claims run there
    and nothing waits for the model later.

    * `n_files` >= PRESTART_MIN_FILES: a worker per CPU (its claims reach
      MIN_POOL_SENTENCES, so the batch would use the pool anyway);
    * a smaller batch, when this process has not loaded the model: one worker
      (SMALL_BATCH_WORKERS), which takes the batch's NLP; a process that has the model
      already (an earlier batch ran here) keeps small batches here.

    Nothing happens with a Dask cluster or a single CPU.
    """
    if n_files < 1 or scheduler_address() or local_processes() < 2:
        return False
    from pipeline.nlp import is_loaded

    if n_files >= PRESTART_MIN_FILES:
        workers = local_processes()
    elif _pool is not None or is_loaded(model):
        return False
    else:
        workers = SMALL_BATCH_WORKERS
    with _lock:
        _start_pool(workers, model)
    return True


# ------------------------------------------------------------------ warm servers (the daemon's path)
# The sensor keeps one warm NLP server per worker beside the code server (`ensure_warm`,
# see `pipeline.warm`), each with the spaCy pipelines loaded; a daemon run attaches to
# them (`attach_warm`) and uses them as its pool, so no run of the daemon loads the model
# on the cores its own work needs. A server lost in the middle of a batch: the batch's
# work is done again on a pool of the run's own.

WARM_SERVER_NAME = "nlp_server_{}"


def _warm_version(model: str, version: str | None) -> str:
    from pipeline.warm import code_version

    return f"{version or code_version()}:{model}"


def ensure_warm(runtime_dir, model: str, version: str | None = None, idle_seconds: float | None = None) -> list[int]:
    """Start the warm NLP servers of `runtime_dir` (one per local worker) unless servers of
    this code and model run; their pids (none with a Dask cluster or a single CPU)."""
    from pipeline import warm

    workers = local_processes()
    if scheduler_address() or workers < 2:
        return []
    extra = {} if idle_seconds is None else {"idle_seconds": idle_seconds}
    return [warm.ensure(runtime_dir, WARM_SERVER_NAME.format(i), f"{__name__}:warm_server:{model}",
                        _warm_version(model, version), **extra) for i in range(workers)]


class RemotePool:
    """The warm servers as this process's pool: `submit` to the server with the fewest
    calls under way; `map` in order."""

    def __init__(self, remotes: list):
        self.remotes = remotes
        self._load = [0] * len(remotes)
        self._count_lock = threading.Lock()

    @property
    def pids(self) -> list[int]:
        return [r.pid for r in self.remotes]

    def submit(self, fn, *args):
        with self._count_lock:
            i = min(range(len(self.remotes)), key=self._load.__getitem__)
            self._load[i] += 1
        future = self.remotes[i].submit(fn, *args)

        def done(_f, i=i):
            with self._count_lock:
                self._load[i] -= 1

        future.add_done_callback(done)
        return future

    def map(self, fn, *iterables):
        return [f.result() for f in [self.submit(fn, *args) for args in zip(*iterables)]]

    def shutdown(self, wait: bool = True, cancel_futures: bool = False) -> None:
        for remote in self.remotes:  # closes the connections: the servers go on
            remote.shutdown(wait=wait, cancel_futures=cancel_futures)


def attach_warm(runtime_dir, model: str, version: str | None = None) -> list[int]:
    """Use the warm NLP servers of `runtime_dir` that run this code and `model` as this
    process's pool; their pids (empty: none runs, nothing changed)."""
    global _pool, _pool_workers
    from pipeline import warm

    if scheduler_address() or local_processes() < 2:
        return []
    version = _warm_version(model, version)
    remotes = [r for r in (warm.connect(runtime_dir, WARM_SERVER_NAME.format(i), version)
                           for i in range(local_processes())) if r is not None]
    if not remotes:
        return []
    with _lock:
        if _pool is not None:  # a pool already runs here: keep it
            for r in remotes:
                r.shutdown()
            return attached_warm()
        _pool, _pool_workers = RemotePool(remotes), len(remotes)
        _pool_model.add(model)
        atexit.register(shutdown)
    return [r.pid for r in remotes]


def attached_warm() -> list[int]:
    """The pids of the warm NLP servers this process's work goes to (empty: none)."""
    pool = _pool
    return pool.pids if isinstance(pool, RemotePool) else []


def detach_warm() -> None:
    """Stop using the warm servers (one was lost): later work starts a pool of this process's own."""
    global _pool, _pool_workers
    with _lock:
        if isinstance(_pool, RemotePool):
            _pool.shutdown(wait=False, cancel_futures=True)
            _pool, _pool_workers = None, 0
            _pool_model.clear()
            _warming.clear()


def shutdown() -> None:
    """Stop the local pool (or leave the warm servers) and close Dask clients (idempotent)."""
    global _pool, _pool_workers
    with _lock:
        if _pool is not None:
            _pool.shutdown(wait=True, cancel_futures=True)
            _pool = None
            _pool_workers = 0
            _pool_model.clear()
            _warming.clear()
        for client in _clients.values():
            try:
                client.close()
            except Exception:  # noqa: BLE001 - best effort at exit
                pass
        _clients.clear()


class Pending:
    """Work handed to the workers (local pool, warm servers or Dask) whose result is
    collected later: `result()` waits for every part and combines them. What the workers
    compute does not depend on when it is collected, so a caller can start the next
    stage's NLP as soon as its input exists and let this process do something else
    meanwhile. Work on warm servers that were lost meanwhile is done again on a pool of
    this process's own (`rerun`)."""

    def __init__(self, futures: list, combine: Callable[[list], object], client=None,
                 rerun: Callable[[], "Pending"] | None = None):
        self._futures, self._combine, self._client, self._rerun = futures, combine, client, rerun

    def result(self):
        from concurrent.futures.process import BrokenProcessPool

        if self._client is not None:
            return self._combine(self._client.gather(self._futures))
        try:
            parts = [f.result() for f in self._futures]
        except BrokenProcessPool:
            if self._rerun is None:
                raise
            detach_warm()
            return self._rerun().result()
        return self._combine(parts)


def _submit(task: Callable, model: str, chunks: list[list], where: str, workers: int,
            combine: Callable[[list], object]) -> Pending:
    if where == "dask":
        client = _dask_client(scheduler_address())
        return Pending([client.submit(task, model, chunk, pure=False) for chunk in chunks], combine, client)
    pool = _local_pool(workers, model)
    rerun = (lambda: _submit(task, model, chunks, where, workers, combine)) if isinstance(pool, RemotePool) else None
    try:
        return Pending([pool.submit(task, model, chunk) for chunk in chunks], combine, rerun=rerun)
    except RuntimeError:  # the warm servers' connections were closed meanwhile
        if rerun is None:
            raise
        detach_warm()
        return rerun()


def plan(n_items: int, min_pool: int, min_warm: int | None = None, loaded_here: bool = True) -> tuple[str, int]:
    """('dask' | 'pool' | 'local', number of workers) for a batch of `n_items`.

    A running (or starting) pool takes batches of `min_warm` items or more, and any
    batch when this process has not loaded the model (`loaded_here` False): waiting
    for a worker that is already loading it beats loading it here."""
    if n_items == 0:
        return "local", 1
    if scheduler_address():
        return "dask", 0
    workers = local_processes()
    started = _pool is not None and (bool(_pool_model) or bool(_warming))
    warm = started and ((min_warm is not None and n_items >= min_warm) or not loaded_here)
    if workers > 1 and (n_items >= min_pool or warm):
        return "pool", (_pool_workers if started and n_items < min_pool else workers)
    return "local", 1


def _n_chunks(where: str, workers: int) -> int:
    if where == "dask":
        client = _dask_client(scheduler_address())
        workers = max(1, len(client.scheduler_info(n_workers=-1).get("workers", {})))
    return workers * CHUNKS_PER_WORKER


# ------------------------------------------------------------------ the two stages
def _loaded_here(nlp) -> bool:
    """False for a `Deferred` pipeline this process has not loaded yet."""
    from pipeline.nlp import Deferred, is_loaded

    if isinstance(nlp, Deferred):
        return is_loaded(nlp._pipeline_package, nlp._sentencizer)  # noqa: SLF001
    return True


def start_split_sentences(model: str | None, sentencizer, paragraphs: list[str], doc_ids: list[str]) -> Pending | None:
    """`split_sentences` handed to the workers now, or None when it would run here."""
    where, workers = plan(len(paragraphs), MIN_POOL_PARAGRAPHS, MIN_WARM_POOL_ITEMS, _loaded_here(sentencizer))
    if where == "local" or model is None:
        return None
    ranges = chunk_by_document(doc_ids, _n_chunks(where, workers))
    return _submit(split_sentences_task, model, [paragraphs[a:b] for a, b in ranges], where, workers,
                   lambda parts: [spans for part in parts for spans in part])


def split_sentences(model: str | None, sentencizer, paragraphs: list[str], doc_ids: list[str]) -> list[list[tuple[int, int]]]:
    """Sentence spans of each paragraph (see `pipeline.sentences`), wherever it is cheapest."""
    pending = start_split_sentences(model, sentencizer, paragraphs, doc_ids)
    if pending is not None:
        return pending.result()
    from pipeline.nlp import resolve
    from pipeline.sentences import split_paragraphs_into_sentences

    return split_paragraphs_into_sentences(resolve(sentencizer), paragraphs)


def _combine_claims(parts: list) -> "ClaimsOutput":
    from pipeline.claims import ClaimsOutput

    out = ClaimsOutput([], [], [])
    for part in parts:
        out.claims += part.claims
        out.quantities += part.quantities
        out.entities += part.entities
    return out


def start_extract_claims(model: str | None, nlp, sentences: list["SentenceInput"]) -> Pending | None:
    """`extract_claims` handed to the workers now, or None when it would run here."""
    where, workers = plan(len(sentences), MIN_POOL_SENTENCES, MIN_WARM_POOL_ITEMS, _loaded_here(nlp))
    if where == "local" or model is None:
        return None
    ranges = chunk_by_document([s.doc_id for s in sentences], _n_chunks(where, workers))
    return _submit(extract_claims_task, model, [sentences[a:b] for a, b in ranges], where, workers, _combine_claims)


def extract_claims(model: str | None, nlp, sentences: list["SentenceInput"]) -> "ClaimsOutput":
    """`pipeline.claims.extract_claims`, wherever it is cheapest (same output)."""
    pending = start_extract_claims(model, nlp, sentences)
    if pending is not None:
        return pending.result()
    from pipeline.claims import extract_claims as local_extract
    from pipeline.nlp import resolve

    return local_extract(resolve(nlp), sentences)


def _minhash_anywhere(texts: Sequence[str], config) -> list:
    """`pipeline.neardup.signatures` of the texts (same output), wherever it is cheapest:
    on the Dask cluster when one is configured, on the local worker pool when it is
    already running and the batch is large (MinHash alone does not pay for starting it),
    else in this process."""
    from pipeline.neardup import signatures

    texts = list(texts)
    address = scheduler_address()
    if not texts or (not address and (_pool is None or len(texts) < MIN_POOL_TEXTS or local_processes() < 2)):
        return signatures(texts, config)
    where = "dask" if address else "pool"
    n = _n_chunks(where, local_processes())
    size = -(-len(texts) // n)
    chunks = [texts[i:i + size] for i in range(0, len(texts), size)]
    payload = config.to_json()
    if where == "dask":
        client = _dask_client(address)
        parts = client.gather([client.submit(minhash_task, payload, chunk, pure=False) for chunk in chunks])
    else:
        from concurrent.futures.process import BrokenProcessPool

        try:
            parts = list(_pool.map(minhash_task, [payload] * len(chunks), chunks))
        except (BrokenProcessPool, RuntimeError):
            if not isinstance(_pool, RemotePool):
                raise
            detach_warm()  # a warm server was lost: sign them here
            return signatures(texts, config)
    return [row for part in parts for row in part]


# Signatures made ahead: a `pipeline run` batch, whose corpus stage follows in the same
# process, signs its texts while it would otherwise wait for its NLP (`sign_ahead`); the
# corpus stage's signer (`minhash_signatures`) takes each one from here, once, instead of
# signing it again. Keyed by the configuration and a digest of the text, so a text signed
# with other settings is never taken. Held here, in the execution layer, not in the domain
# module: `pipeline.neardup` only calls the signer it is given.
_SIGNED_AHEAD: dict[tuple[str, bytes], Any] = {}
_SIGNED_AHEAD_LOCK = threading.Lock()
_MISSING = object()


def _signing_key(text: str, config_key: str) -> tuple[str, bytes]:
    import hashlib

    return config_key, hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


def _config_key(config) -> str:
    import json

    return json.dumps(config.to_json(), sort_keys=True)


def sign_ahead(texts: Sequence[str], config) -> int:
    """Sign `texts` now for a later signer of this process (see above); the number of texts
    signed (those signed ahead before are not signed again)."""
    from pipeline.neardup import signatures

    ck = _config_key(config)
    todo: dict[tuple[str, bytes], str] = {}
    with _SIGNED_AHEAD_LOCK:
        for text in texts:
            key = _signing_key(text, ck)
            if key not in _SIGNED_AHEAD:
                todo.setdefault(key, text)
    values = signatures(list(todo.values()), config)
    with _SIGNED_AHEAD_LOCK:
        _SIGNED_AHEAD.update(zip(todo, values))
    return len(todo)


def signed_ahead_waiting() -> int:
    """How many signatures made ahead no signer has taken yet."""
    with _SIGNED_AHEAD_LOCK:
        return len(_SIGNED_AHEAD)


def drop_signed_ahead() -> None:
    """Forget the signatures made ahead that no signer took."""
    with _SIGNED_AHEAD_LOCK:
        _SIGNED_AHEAD.clear()


def with_signed_ahead(signer: Callable[[Sequence[str], Any], list]) -> Callable[[Sequence[str], Any], list]:
    """A signer that takes the texts signed ahead (each once) and asks `signer` for the rest."""
    def sign(texts: Sequence[str], config) -> list:
        texts = list(texts)
        with _SIGNED_AHEAD_LOCK:
            if _SIGNED_AHEAD:
                ck = _config_key(config)
                values = [_SIGNED_AHEAD.pop(_signing_key(t, ck), _MISSING) for t in texts]
            else:
                values = [_MISSING] * len(texts)
        missing = [i for i, v in enumerate(values) if v is _MISSING]
        if missing:
            for i, value in zip(missing, signer([texts[i] for i in missing], config)):
                values[i] = value
        return values

    return sign


# the corpus stage's signer: what was signed ahead, the rest on the cluster, the pool or here
minhash_signatures = with_signed_ahead(_minhash_anywhere)


def run_all_in_threads(jobs: Sequence[Callable[[], Any]], max_workers: int = 4) -> list:
    """Call every job (a function of no arguments) on up to `max_workers` threads (no more
    than the CPUs): for work that releases the GIL, such as Arrow writing Parquet. Returns
    once every job has ended, their results in the order of `jobs`; raises the first error."""
    from concurrent.futures import ThreadPoolExecutor

    workers = min(len(jobs), os.cpu_count() or 1, max_workers)
    if workers <= 1:
        return [job() for job in jobs]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="run_all") as pool:
        futures = [pool.submit(job) for job in jobs]
        return [future.result() for future in futures]  # the first error, after every job has ended


# Batch files of the accepted rows read ahead (`prefetch`): a small batch added to a large
# corpus mostly waits (for the NLP workers, the GX process) and Arrow reads without the GIL,
# so `pipeline run` reads the corpus stage's input in a thread meanwhile. path -> (stamp,
# table); a batch file never changes once written, the stamp still guards against a
# replaced one. The state store takes them through `take_prefetched` (its `read_ahead`).
_PREFETCHED: dict = {}
_prefetch_thread: threading.Thread | None = None


def prefetch(paths: Sequence) -> None:
    """Read these Parquet files in a thread, now (each until taken or `drop_prefetched`)."""
    global _prefetch_thread
    from pipeline.state import read_file, stamp

    if _prefetch_thread is not None:
        _prefetch_thread.join()
    todo = [p for p in paths if p not in _PREFETCHED]

    def read():
        for path in todo:
            try:
                seen = stamp(path)
                _PREFETCHED[path] = (seen, read_file(path))
            except Exception:  # noqa: BLE001 - gone or unreadable: the state store decides when it reads
                continue

    _prefetch_thread = threading.Thread(target=read, name="prefetch accepted rows", daemon=True)
    _prefetch_thread.start()


def take_prefetched(path):
    """The table read ahead for `path` (taken: used once) if the file is still the one read, else None."""
    if _prefetch_thread is not None:
        _prefetch_thread.join()
    hit = _PREFETCHED.pop(path, None)
    if hit is None:
        return None
    from pipeline.state import stamp

    try:
        return hit[1] if hit[0] == stamp(path) else None
    except OSError:
        return None


# The corpus indexes (near-duplicate indexes, template counter, text digests) loaded ahead
# (`prefetch_indexes`), for the same reason: 0.3-0.7 s of the corpus step at 22,250 articles,
# while a small batch's run mostly waits. Kept with the stamp of their files before and
# after the load; the corpus stage takes them (`take_indexes`) under the corpus lock only if
# the files are still those, else it loads them itself.
_INDEXES: dict = {}  # state root -> (stamp, indexes)
_indexes_thread: threading.Thread | None = None


def prefetch_indexes(root) -> None:
    """Load the corpus indexes of the state folder `root` in a thread, now."""
    global _indexes_thread
    from pipeline.state import indexes_stamp, load_indexes

    if _indexes_thread is not None:
        _indexes_thread.join()
    root = str(root)

    def load():
        try:
            before = indexes_stamp(root)
            loaded = load_indexes(root, heal=False)
            if indexes_stamp(root) == before:  # not saved by another run meanwhile
                _INDEXES[root] = (before, loaded)
        except Exception:  # noqa: BLE001 - unreadable or changing: the corpus stage loads (and heals) them
            _INDEXES.pop(root, None)

    _indexes_thread = threading.Thread(target=load, name="prefetch corpus indexes", daemon=True)
    _indexes_thread.start()


def indexes_waiting() -> int:
    """How many state folders' indexes are loaded ahead and not taken (once loaded)."""
    if _indexes_thread is not None:
        _indexes_thread.join()
    return len(_INDEXES)


def take_indexes(root):
    """The indexes loaded ahead for `root` (taken: used once) if their files are still the
    ones loaded, else None. Call it holding the corpus lock."""
    if _indexes_thread is not None:
        _indexes_thread.join()
    hit = _INDEXES.pop(str(root), None)
    if hit is None:
        return None
    from pipeline.state import indexes_stamp

    return hit[1] if hit[0] == indexes_stamp(root) else None


def prefetched_waiting() -> int:
    if _prefetch_thread is not None:
        _prefetch_thread.join()
    return len(_PREFETCHED)


def drop_prefetched() -> None:
    """Forget what was read ahead and not taken (rows and indexes)."""
    if _prefetch_thread is not None:
        _prefetch_thread.join()
    if _indexes_thread is not None:
        _indexes_thread.join()
    _INDEXES.clear()
    _PREFETCHED.clear()


def pool_status() -> dict:
    """This process's local worker pool as logs and tests see it: whether it runs, its
    workers, the models its workers loaded, and those still loading (`prestart`)."""
    return {"running": _pool is not None, "workers": _pool_workers, "models": set(_pool_model),
            "warming": {model for model, futures in _warming.items() if futures}}


def on_pool(fn, items) -> list:
    """`fn` over `items` on the running pool (local workers or the attached warm servers);
    raises RuntimeError when none runs."""
    if _pool is None:
        raise RuntimeError("no worker pool runs in this process")
    return list(_pool.map(fn, items))
