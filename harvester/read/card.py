"""A Hub card read into facts: licences, lineage, libraries, linked code, datasets, statements of
non-release, evaluations and the signs that a stage happened. Pure: no I/O.

Markdown and HTML are read as structure (``harvester.read.markdown``); the patterns below run over
the *plain text* of a block, never over markup.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from harvester.cards import as_list, github_repos
from harvester.harvest import RepoCard
from harvester.ids import is_hub_id
from harvester.licenses.prose import statements as license_statements
from harvester.read.facts import (
    BaseRef,
    CardFacts,
    DatasetMention,
    Evaluation,
    Library,
    LicenseInput,
    Paper,
    RepoLink,
    Result,
    Signal,
    Statement,
    Where,
)
from harvester.read.markdown import Document, read_markdown, sentences
from harvester.score.knowledge import Knowledge

CLIP = 300
RELATIONS = ("adapter", "merge", "quantized", "finetune")
MAX_MENTIONS = 60

# -- what a sentence says ---------------------------------------------------------------------------
_MODAL = re.compile(r"\b(can|could|may|might|should|would|recommend\w*|intended|look for|able to|allows?|easy to|"
                    r"how to|you|your|users?|downstream)\b", re.I)
_NEGATED = re.compile(r"\b(not|never|no|without|neither|nor)\b|n't\b", re.I)
_WAS_FINETUNED = re.compile(
    r"\b(?:(?:was|were|is|are|has been|have been|been|we|then|further|additionally|subsequently)\s+(?:\w+\s+)?"
    r"(?:fine-?tuned|finetuned|instruction[- ]tuned|instruct[- ]tuned|chat[- ]tuned|aligned with sft)|"
    r"(?:is|are)\s+(?:a|an)\s+(?:\w+\s+)?(?:fine-?tuned|finetuned|instruction[- ]tuned)\s+(?:version|model|variant|"
    r"checkpoint)|supervised fine-?tuning \(sft\)|fine-?tuned (?:on|with|using|from) (?:the |a |our )?[A-Z0-9]|"
    r"model fine-?tuned\b|(?:with|via|using) dreambooth)", re.I)
_ALIGNED = re.compile(r"\b((?i:direct preference optimi[sz]ation|reinforcement learning (from|with) (human|ai) "
                      r"feedback|preference (optimi[sz]ation|tuning|alignment|data)|reward model(ing)?)|"
                      r"DPO|RLHF|RLAIF|PPO|ORPO|KTO|GRPO|SimPO|IPO)\b")  # acronyms in capitals, words in any case
_ALIGN_TAGS = {"dpo", "rlhf", "orpo", "kto", "ppo", "reward-model", "grpo", "simpo", "rlaif", "reward model"}
_TRAINER_TAGS = {"axolotl": "axolotl", "unsloth": "unsloth", "trl": "trl", "llama-factory": "llama-factory",
                 "autotrain": "autotrain"}
_SFT_TAGS = {"sft", "instruction-tuned", "instruct", "finetuned", "fine-tuned", "finetune"}
_FROM_SCRATCH = re.compile(r"\b(trained|pre-?trained|pretrained) from scratch\b", re.I)
_TRAINED_WITH = re.compile(r"\b(trained|pre-?trained|fine-?tuned|built|developed|implemented)\b[^.]{0,80}?"
                           r"\b(using|with|on top of|by means of|via|in)\b", re.I)
_TRAINING_WORDS = re.compile(r"\b(train(ed|ing)?|pre-?train(ed|ing)?|fine-?tun(e|ed|ing)|reproduc\w*|recipe|"
                             r"training code|training script)", re.I)
_NOT_RELEASED = re.compile(
    r"\b(not|never|no plans? to)\b[^.;]{0,50}?\b(be )?(publicly |openly )?(released?|available|open[- ]?sourced?|"
    r"public|disclosed?|shared|published|distributed)\b|\bproprietary\b|\binternal(ly)?\b|\bin-house\b|"
    r"\bclosed[- ]source\b|\bconfidential\b|\bprivate (data|dataset|corpus|corpora|code|codebase)\b|"
    r"\bundisclosed\b", re.I)
_COMPILED_PUBLIC = re.compile(r"\b(publicly|openly) available (sources|data|online data|datasets|text|web)\b|"
                              r"\bpublic(ly)? (web|internet) data\b|\bdata (crawled|scraped) from the (web|internet)\b",
                              re.I)
_CUSTOM_CODE = re.compile(r"\b(custom|internal|proprietary|in-house)\b[^.]{0,40}\b(code ?base|codebase|training "
                          r"(code|framework|stack|library)|distributed training)\b", re.I)
_STATEMENT_HINT = re.compile(r"\b(not|never|no plans?|proprietary|internal|in-house|closed|confidential|private|"
                             r"undisclosed|custom|publicly|openly|public|crawled|scraped)\b", re.I)
_COMPILED_NEW = re.compile(r"\b(a|an|our) (new|novel|custom|proprietary|in-house|internal|own)( \w+){0,2} "
                           r"(dataset|corpus|data ?set|data mixture|mixture of data)\b", re.I)
_DATA_DOCS = re.compile(r"\b(data ?cards?|datasheets?|corpus map|data catalog\w*|dataset cards?)\b", re.I)
_WEIGHTS_LICENSE = re.compile(r"\b(model )?weights\b[^.]{0,80}\blicen[cs]e|"
                              r"\blicen[cs]e\b[^.]{0,60}\b(model )?weights\b", re.I)
_RESTRICTED = re.compile(r"\b(non-?commercial|research (use |purposes )?only|not for commercial|academic (use |"
                         r"purposes )?only|under the condition that|not (be )?used to compete)\b", re.I)
_OTHER_ARTIFACT_LICENSE = re.compile(r"\b(dataset|data|base model|original model|code)\b[^.]{0,40}\blicen", re.I)
_CODE_LICENSE = re.compile(r"\b(?:source )?code(?:base)?\b[^.;]{0,80}?\b(?:licensed|released|distributed|available|"
                           r"published|open-?sourced)\s+under\s+(?:the\s+|a\s+)?(?P<lic>[A-Za-z][^.;\n()]{1,60})|"
                           r"\bcode\b[^.;]{0,60}?\b(?:is|are)\s+(?P<lic2>[A-Za-z][\w.+ -]{1,30}?)[ -]licensed\b", re.I)
_LICENSE_TALK = re.compile(r"\b(commercial|licen[cs]e|terms of use|permission)\b", re.I)
_DATA_WORDS = re.compile(r"\b(data|dataset|datasets|corpus|corpora|tokens|texts?|documents|images|samples)\b", re.I)
_CODE_WORDS = re.compile(r"\b(code|codebase|scripts?|implementation|framework|recipe)\b", re.I)
_WEIGHT_WORDS = re.compile(r"\b(weights|checkpoints?|parameters)\b", re.I)
_SUBJECT_WORDS = {"data": _DATA_WORDS, "code": _CODE_WORDS, "weights": _WEIGHT_WORDS}
_STAGE_WORDS = (
    ("alignment", re.compile(r"\b(DPO|RLHF|preference|reward|alignment|PPO|ORPO|KTO)\b", re.I)),
    ("finetuning", re.compile(r"\b(fine-?tun\w*|instruction|SFT|supervised|chat)\b", re.I)),
    ("pretraining", re.compile(r"\b(pre-?train\w*|from scratch|base model|foundation)\b", re.I)),
)
_EVAL_WORDS = re.compile(r"\b(evaluat\w*|benchmark\w*|harness|leaderboard)\b", re.I)
_USAGE_WORDS = re.compile(r"\b(inference|deploy\w*|serv(e|ing)|run(ning)?|demo|usage|quantiz\w*|chat ui|webui|"
                          r"interface)\b", re.I)
_TRAINING_CODE = re.compile(r"\b(training|pre-?training|fine-?tuning|finetuning) (code|scripts?|repo(sitory)?|"
                            r"recipes?|framework|codebase|library)\b|\bcode (for|to) (train|reproduc|pre-?train|"
                            r"fine-?tun)", re.I)
_RUN_WORDS = re.compile(r"\b(install\w*|pip|import|load\w*|run\w*|use|using|usable|utili[sz]\w*|compatible|"
                        r"supported|inference|requires?|version of)\b", re.I)
_CODE_SENT = re.compile(r"\b(source code|our (\w+ ){0,2}code|reference code|the code|"
                        r"code (is|are|has been) (available|released|public|open)|"
                        r"official (code|implementation|repo\w*)|"
                        r"github repo\w*|code ?base|(code|repository|github)\s*:)", re.I)
_HF_CLASS = re.compile(r"\b(Auto|[A-Z][A-Za-z0-9]+)(Model)?For(CausalLM|ConditionalGeneration|SequenceClassification|"
                       r"TokenClassification|QuestionAnswering|MaskedLM|Seq2SeqLM|ImageClassification|"
                       r"SpeechSeq2Seq|CTC|Vision2Seq|ImageTextToText)\b")
_ANCHOR_WORDS = re.compile(r"[a-z0-9][a-z0-9-]*")
_NOT_TRAINED_ON = re.compile(r"\b(inspired by|similar to|compared (to|with)|unlike|in contrast|outperform\w*|"
                             r"reproduction of|replication of|replica of|re-?creation of|open version of|"
                             r"than|e\.g\.|such models as|competitors?)\b", re.I)
_TRAINED_ON = re.compile(r"\b(trained|pre-?trained|fine-?tuned|instruction-tuned|tuned|distilled|built|curated|"
                         r"collected|composed|consists?|comprising|mixture|training (data|set|corpus|mix))\b", re.I)
_CODE_ANCHOR = re.compile(r"\b(code|github|repo(sitory)?|source|implementation|official|project|scripts?)\b", re.I)

# -- lineage in prose ---------------------------------------------------------------------------
_BASE_PHRASES = re.compile(
    r"\b(fine-?tuned (version )?(of|from|on top of)|finetune of|fine-?tune (of|on top of|from)|based on|"
    r"built on( top of)?|"
    r"trained on top of|derived from|adapted from|continued pre-?training of|continue[ds]? pre-?training (of|from)|"
    r"(quanti[sz]ed|gguf|gptq|awq|exl2|mlx|onnx|fp8|int4|int8|converted) (version|model|files|weights|format|"
    r"conversion|quants?)?\s*(of|for|from)|quants? of|conversion of|converted from|lora (adapter )?(of|for|on)|"
    r"adapter (of|for|on)|merge of|original model|base model( is| was)|finetuned from model|"
    r"fine-tuned from model|model creator|(used|uses|use|start(ed)? from|initiali[sz]ed (from|with)) the "
    r"pre-?trained|off-the-shelf|starting point|replica of|distilled from|from (the )?original checkpoint|"
    r"initiali[sz]ed (from|with)|(obtained|created|made) by fine-?tuning)\b|\bbase (model|llm)\s*:|基于", re.I)
_FIELD_PHRASE = re.compile(r"(base model|base llm|original model|model creator|finetuned from model|"
                           r"fine-tuned from model)",
                           re.I)
_FAMILY_TAGS = {"stable-diffusion"}
"""Tags that name a model family, not the library that runs it: every Stable Diffusion derivative, a FLUX
LoRA included, carries ``stable-diffusion``; as ``library_name`` it does mean the CompVis scripts."""
_NAMED_BASE = re.compile(r"(?:\b(?:based on|built on|fine-?tuned (?:from|on top of)|finetune of|off-the-shelf|"
                         r"continued pre-?training of|replica of|distilled from)\s+(?:the\s+)?|基于)"
                         r"([A-Za-z][A-Za-z0-9.-]*\d[A-Za-z0-9.-]*|"
                         r"[A-Z][A-Za-z-]+ [A-Z][A-Za-z-]+ (?:v?\d[\w.]*|model))")
_ARCHITECTURE = re.compile(r"\s*(transformer\s+|model\s+)?architecture\b", re.I)
_BASE_FIELD = re.compile(r"\b(student|base|pre-?trained|parent|teacher) (model|llm)\s*:", re.I)
_TUNED_NAME = re.compile(r"(?:^|[-_.])(instruct|chat)(?:[-_.]|$)", re.I)
_LEGACY_NAME = re.compile(r"\b((?:bert|roberta|distilbert|distilroberta|gpt2|t5|xlm-roberta|albert|xlnet|bart|electra|"
                          r"camembert|deberta)-[a-z0-9-]+|gpt2)\b")
"""Canonical models named without an organisation ("an off-the-shelf roberta-large"): the Hub still answers
those ids (it redirects them to the organisation they moved to)."""
_X_TUNED = re.compile(r"\b(fine-?tuned|finetuned|further trained|quanti[sz]ed|converted)\s+"
                      r"(on|with|using|to|for|by|in)\b", re.I)
_IS_DERIVED = re.compile(r"\b((is|are|this) an? (\w+ )?(fine-?tune|finetune|fine-?tuned (version|model)|"
                         r"quanti[sz]ed (version|model)|merge|lora|adapter)|an? fine-?tuned \w+( \w+)? model)\b", re.I)
_NOT_A_BASE = re.compile(r"\b(compared (to|with)|than|unlike|versus|vs\.?|similar to|same as|like)\s*$", re.I)
_PATHLIKE_ORGS = {"model", "models", "path", "data", "output", "outputs", "checkpoint", "checkpoints", "ckpt", "tmp",
                  "home", "root", "content", "transformers", "instruction", "before", "local", "your", "my", "user"}
_QUANT_WORDS = re.compile(r"\b(gguf|gptq|awq|exl2|quanti[sz]\w*|q4_k_m|q8_0|int4|int8|fp8|nvfp4|bnb|4-?bit|8-?bit|"
                          r"mlx|onnx|ggml|converted|conversion)\b", re.I)
_ADAPTER_WORDS = re.compile(r"\b(lora|qlora|peft|adapter)\b", re.I)
_HUB_ID = re.compile(r"(?<![\w./-])([A-Za-z0-9][\w.-]{0,95}/[A-Za-z0-9][\w.-]{0,95})(?![\w/-])")
_FROM_PRETRAINED = re.compile(r"""from_pretrained\(\s*(?:[\w.]+\s*,\s*)?["']([\w.-]+/[\w.-]+)["']""")
_BASE_ASSIGN = re.compile(r"""\b(base_model(?:_name(?:_or_path)?|_id)?|model_name_or_path|base_model_path)\s*=\s*"""
                          r"""["']([\w.-]+/[\w.-]+)["']""")

# -- libraries in usage code --------------------------------------------------------------------
_IMPORT = re.compile(r"^\s*(?:>>>\s*)?(?:from\s+([\w.]+)\s+import|import\s+([\w.]+))", re.M)
_LEADERBOARD = ("open_llm_leaderboard", "open-llm-leaderboard")
_HARNESS_REPO = "EleutherAI/lm-evaluation-harness"
_MTEB_REPO = "embeddings-benchmark/mteb"
"""``model-index`` results on ``mteb/…`` datasets are the mteb package's output (its CLI writes them)."""
_LM_EVAL_TABLE = re.compile(r"(^|\|)\s*Tasks\s*\|\s*Version\s*\|\s*(Filter\s*\|\s*n-shot|Fewshot)|"
                            r"\blm[-_]eval(uation)?[-_]harness\b|\blm_eval\b", re.I)
_METRIC_CODE = re.compile(r"\b(evaluate\.|load_metric|metric|compute\(|accuracy|wer|bleu|rouge|f1_score|perplexity|"
                          r"lm_eval|benchmark)\b", re.I)
_SCORES = re.compile(r"(\d+(\.\d+)?\s?%|\b0?\.\d{2,}\b|\b\d{1,3}\.\d{1,2}\b)")
_SAFETY_EVAL = re.compile(r"\b(fairness|toxicity|red[- ]?team\w*|jailbreak\w*|(safety|bias|harm\w*) "
                          r"(evaluation|benchmark|results?|tests?))\b", re.I)
_RESULT_WORDS = re.compile(r"\b(results?|scores?|evaluat\w*|benchmark\w*|performance)\b", re.I)

# -- what the model is, what it scored, what it cites, what it warns about ----------------------
_PARAMS = re.compile(r"(?<![\w.])(\d+(?:[.,]\d+)?)\s*(billion|million|thousand|[BMK])\b[\s-]*(?:\w+[\s-]+){0,2}?"
                     r"(?:parameters?|params)\b", re.I)
_SCALE = {"b": 10**9, "billion": 10**9, "m": 10**6, "million": 10**6, "k": 10**3, "thousand": 10**3}
_PAPER_HOSTS = ("arxiv.org", "www.arxiv.org", "aclanthology.org", "www.aclanthology.org", "openreview.net",
                "proceedings.neurips.cc", "papers.nips.cc", "proceedings.mlr.press", "openaccess.thecvf.com")
_REPORT_WORDS = re.compile(r"\b(technical report|tech(nical)? report|model report|system card|white ?paper|"
                           r"release paper)\b", re.I)
_CHECKPOINTS = re.compile(r"\b(intermediate|training|partially[- ]trained|pre-?training)\s+checkpoints?\b", re.I)
_PUBLISHED = re.compile(r"\b(available|releas\w*|provid\w*|host\w*|branch\w*|revisions?|upload\w*|publish\w*|"
                        r"open[- ]?source\w*)\b", re.I)
_USE_TITLE = re.compile(r"^(?:\d+(?:\.\d+)*\.?\s*)?(?:intended|direct|downstream|primary)?\s*(?:uses?|use cases?)\b",
                        re.I)
_FUTURE = re.compile(r"\b(will|later|soon|plan\w*|future|upcoming)\b", re.I)
_PLACEHOLDER = re.compile(r"\[?more information needed\]?|\[optional\]|\{\{.*?\}\}", re.I)
_NUMBER = re.compile(r"^[-+]?\d+(?:[.,]\d+)?\s*%?$")
MAX_CONSIDERATION = 1500


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= CLIP else text[: CLIP - 1] + "…"


def _hub_model_id(url: str, own: str) -> str | None:
    """``ORG/NAME`` of a Hub model page link (not a dataset, space or file), else None."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if (parts.hostname or "").lower() not in ("huggingface.co", "www.huggingface.co", "hf.co"):
        return None
    segs = [s for s in parts.path.split("/") if s]
    if len(segs) < 2 or segs[0] in ("datasets", "spaces", "docs", "blog", "papers", "models", "collections",
                                    "organizations", "settings", "join", "login", "api", "tasks", "transformers",
                                    "learn", "course", "chat", "pricing", "enterprise"):
        return None
    repo_id = f"{segs[0]}/{segs[1]}"
    return repo_id if is_hub_id(repo_id) and repo_id.lower() != own.lower() else None


def _hub_dataset_id(url: str) -> str | None:
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if (parts.hostname or "").lower() not in ("huggingface.co", "www.huggingface.co", "hf.co"):
        return None
    segs = [s for s in parts.path.split("/") if s]
    if len(segs) < 2 or segs[0] != "datasets":
        return None
    repo_id = "/".join(segs[1:3]) if len(segs) >= 3 and segs[2] not in ("viewer", "blob", "tree", "resolve") \
        else segs[1]
    return repo_id if is_hub_id(repo_id) else None


class _CardReader:
    def __init__(self, repo: RepoCard, k: Knowledge) -> None:
        self.repo = repo
        self.k = k
        self.url = repo.url or repo.id
        self.doc: Document = read_markdown(repo.body) if repo.body else Document()
        self.facts = CardFacts(repo.id, self.url, repo.status, repo.reason, repo.sha,
                               kind="dataset" if "/datasets/" in (repo.url or "") else "model")
        self.embedded_from = self._embedded_start()

    # -- helpers ------------------------------------------------------------------------------
    def where(self, section: int = -1, text: str = "") -> Where:
        return Where(self.url, self.doc.title(section) if section >= 0 else "", _clip(text))

    def meta(self, key: str) -> Any:
        return self.repo.card_data.get(key)

    def tags(self) -> list[str]:
        return as_list(self.repo.info.get("tags")) + as_list(self.meta("tags"))

    def _embedded_start(self) -> int:
        """Index of the first section of an embedded original card ("Original model card: …")."""
        for i, s in enumerate(self.doc.sections):
            t = s.title.lower()
            if "original model card" in t or "original card" in t or t.startswith("original model"):
                return i
        return -1

    def blocks(self, *roles: str, kinds: tuple[str, ...] = ("text", "row")) -> list[tuple[int, str]]:
        """(section, text) of the blocks whose section has one of ``roles`` (all when none given)."""
        out = []
        for b in self.doc.blocks:
            if b.kind in kinds and (not roles or self.doc.role(b.section) in roles):
                out.append((b.section, b.text))
        return out

    # -- readers ------------------------------------------------------------------------------
    def read(self) -> CardFacts:
        f = self.facts
        f.sections = [s.title for s in self.doc.sections][:200]
        f.embeds_original = self.embedded_from >= 0
        f.gated = bool(self.repo.info.get("gated")) or any(k.startswith("extra_gated") for k in self.repo.card_data)
        if f.status != "ok":
            return f
        self.licenses()
        if f.kind == "dataset":
            self.statements()
            return f
        self.lineage()
        self.libraries()
        self.links()
        self.named_frameworks()
        self.datasets()
        self.statements()
        self.evaluations()
        self.signals()
        self.description()
        self.results()
        self.papers()
        self.considerations()
        return f

    def licenses(self) -> None:
        f, cd = self.facts, self.repo.card_data
        values = as_list(cd.get("license")) or as_list(cd.get("licenses"))
        origin = "metadata"
        if not values:
            values = [t.split(":", 1)[1] for t in as_list(self.repo.info.get("tags")) if t.startswith("license:")]
            origin = "tag"
        for v in values:
            f.licenses.append(LicenseInput(v, origin, Where(self.url, "", v)))
        for key in ("license_name", "license_link"):
            value = cd.get(key)
            if isinstance(value, str) and value.strip():
                f.licenses.append(LicenseInput(value.strip(), key, Where(self.url, "", value.strip())))
        if self.repo.license_text is not None and self.repo.license_file:
            src = self.repo.license_url or f"{self.url}/blob/main/{self.repo.license_file}"
            where = Where(src, "", self.repo.license_file)
            f.licenses.append(LicenseInput(self.repo.license_file, "license_file", where, self.repo.license_text))
        prompt = cd.get("extra_gated_prompt")
        if isinstance(prompt, str) and len(prompt) > 300:  # gated repos often show the licence itself
            where = Where(self.url, "", "extra_gated_prompt")
            f.licenses.append(LicenseInput("extra_gated_prompt", "gated_prompt", where, prompt[:200_000]))
        for section, text in self.blocks("license", "details", "preamble", "other"):
            for sent in sentences(text):
                if _RESTRICTED.search(sent) and (self.doc.role(section) == "license" or
                                                 re.search(r"\blicen[cs]e\b", sent, re.I)) \
                        and not _OTHER_ARTIFACT_LICENSE.search(sent):
                    f.statements.append(Statement("license_restriction", "weights", "", self.where(section, sent)))
                    break
                if _WEIGHTS_LICENSE.search(sent) and not any(st.kind == "weights_license" for st in f.statements):
                    f.statements.append(Statement("weights_license", "weights", "", self.where(section, sent)))
                cm = _CODE_LICENSE.search(sent)
                if cm and not any(x.origin == "code_prose" for x in f.licenses):
                    f.licenses.append(LicenseInput((cm.group("lic") or cm.group("lic2")).strip(" .*_"), "code_prose",
                                                   self.where(section, sent)))
        if self.repo.body:
            for group, (tier, pieces) in enumerate(license_statements(self.doc)[:12]):
                for piece in pieces:
                    f.prose_licenses.append(LicenseInput(piece, "prose", Where(self.url, "", _clip(piece)),
                                                         tier=tier, group=group))

    def lineage(self) -> None:
        f, repo = self.facts, self.repo
        rel = self.meta("base_model_relation")
        rel = rel if rel in RELATIONS else None
        seen: set[str] = set()

        def add(base: str, relation: str | None, origin: str, where: Where) -> None:
            base = base.removeprefix("https://huggingface.co/").strip().strip("/")
            if base and base.lower() != repo.id.lower() and base.lower() not in seen and is_hub_id(base):
                seen.add(base.lower())
                f.bases.append(BaseRef(base, relation or "finetune", origin, where))

        for b in as_list(self.meta("base_model")):
            add(b, rel, "metadata", Where(self.url, "", f"base_model: {b}"))
        for t in as_list(repo.info.get("tags")):
            parts = t.split(":")
            if parts[0] == "base_model" and len(parts) in (2, 3):
                add(parts[-1], parts[1] if len(parts) == 3 and parts[1] in RELATIONS else rel, "tag",
                    Where(self.url, "", t))
        declared = bool(f.bases)
        guess = self._relation_guess()
        if not declared:
            for section, text in self.blocks("preamble", "details", "other", "training", "usage"):
                if section >= 0 and self.embedded_from >= 0 and section >= self.embedded_from:
                    break
                for sent in sentences(text):
                    tuned = _X_TUNED.search(sent)  # "This is [Base](hub) finetuned on [Data]"
                    if tuned is not None:
                        for ln in self.doc.links:
                            at = sent.rfind(ln.text, 0, tuned.start()) if ln.section == section and ln.text else -1
                            hub = _hub_model_id(ln.url, repo.id) if at >= 0 and tuned.start() - at <= 80 else None
                            if hub:
                                add(hub, guess, "prose", self.where(section, sent))
                    named = _NAMED_BASE.search(sent)
                    if named is not None and _ARCHITECTURE.match(sent, named.end()):
                        named = None  # "based on the T5 architecture": a design, not a checkpoint it started from
                    if not f.derived and (_IS_DERIVED.search(sent) or named is not None or _BASE_FIELD.search(sent)):
                        f.derived = _clip(sent)  # kept only if no Hub id is found for the base
                        legacy = _LEGACY_NAME.search(sent)
                        if legacy and not f.bases:  # "this model is a bert-base-multilingual-cased model …"
                            add(legacy.group(1), guess, "prose", self.where(section, sent))
                    phrase = _BASE_PHRASES.search(sent)
                    if phrase is None:
                        continue
                    after = sent[phrase.start():]
                    # a field ("Base model: [X]") names its value right away; a verb ("fine-tuned from") a little later
                    reach = 40 if _FIELD_PHRASE.match(phrase.group(0)) else 160
                    for ln in self.doc.links:  # a model page linked after "fine-tuned from", "based on", …
                        at = after.find(ln.text) if ln.section == section and ln.text else -1
                        hub = _hub_model_id(ln.url, repo.id) if 0 <= at <= reach else None
                        if hub and not _NOT_A_BASE.search(after[:at]):
                            add(hub, guess, "prose", self.where(section, sent))
                    if not f.bases:
                        legacy = _LEGACY_NAME.search(after[:80])
                        if legacy and not _NOT_A_BASE.search(after[:legacy.start()]):
                            add(legacy.group(1), guess, "prose", self.where(section, sent))
                    if not f.bases:
                        for m in _HUB_ID.finditer(after[:200]):
                            if _plausible_id(m.group(1).rstrip(".")) and not _NOT_A_BASE.search(after[:m.start()]):
                                add(m.group(1).rstrip("."), guess, "prose", self.where(section, sent))
                if len(f.bases) >= 3:
                    break
            if not f.bases:
                self._bases_in_code(add, guess)
        rel_final = rel or next((b.relation for b in f.bases if b.origin in ("tag",) and b.relation), None)
        if f.bases:
            f.relation = rel_final if rel_final in RELATIONS else (guess or "finetune")
            if not declared or rel is None:
                f.relation = guess or rel_final or "finetune"
            f.bases = [BaseRef(b.id, f.relation, b.origin, b.where) for b in f.bases]

    def _relation_guess(self) -> str | None:
        name = self.repo.id.split("/")[-1]
        tags = " ".join(self.tags())
        lib = str(self.meta("library_name") or self.repo.info.get("library_name") or "")
        if lib.lower() == "peft" or _ADAPTER_WORDS.search(name) or re.search(r"\b(lora|peft)\b", tags, re.I):
            return "adapter"
        if _QUANT_WORDS.search(name) or re.search(r"\b(gguf|gptq|awq|exl2|quantized|4-bit|8-bit|mlx)\b", tags, re.I):
            return "quantized"
        if re.search(r"\b(merge|mergekit)\b", tags, re.I) or any(
                "mergekit" in b.text or "merge_method" in b.text for b in self.doc.blocks if b.kind == "code"):
            return "merge"
        return None

    def _bases_in_code(self, add: Any, guess: str | None) -> None:
        for b in self.doc.blocks:
            if b.kind != "code":
                continue
            cands = [m.group(2) for m in _BASE_ASSIGN.finditer(b.text)]
            if "PeftModel" in b.text or "peft" in b.text:
                cands += [m.group(1) for m in _FROM_PRETRAINED.finditer(b.text)]
            for c in cands:
                if _plausible_id(c):
                    add(c, guess or ("adapter" if "PeftModel" in b.text else None), "code", self.where(b.section, c))
            if self.facts.bases:
                return

    def libraries(self) -> None:
        f = self.facts
        found: dict[str, Library] = {}

        def add(name: str, origin: str, where: Where) -> None:
            lib = self.k.library(name)
            if lib is not None and lib.library not in found:
                found[lib.library] = Library(lib.library, origin, where)

        lib_name = self.repo.info.get("library_name") or self.meta("library_name")
        if isinstance(lib_name, str) and lib_name.strip():
            add(lib_name.strip(), "library_name", Where(self.url, "", f"library_name: {lib_name}"))
            if self.k.library(lib_name.strip()) is None:
                f.libraries.append(Library(lib_name.strip().lower(), "library_name",
                                           Where(self.url, "", f"library_name: {lib_name} (not in rules)")))
        for t in self.tags():
            if t.lower() in self.k.libraries and t.lower() not in _FAMILY_TAGS:
                add(t, "tag", Where(self.url, "", f"tag: {t}"))
        for b in self.doc.blocks:
            if b.kind != "code" or self.doc.role(b.section) in ("training", "citation"):
                continue
            for m in _IMPORT.finditer(b.text):
                module = (m.group(1) or m.group(2) or "").split(".")[0]
                lib = self.k.library_imports.get(module)
                if lib is not None and lib.library not in found:
                    found[lib.library] = Library(lib.library, "code", self.where(b.section, m.group(0).strip()))
            for lib in self.k.libraries.values():
                if lib.library in found:
                    continue
                for needle in (*lib.patterns, *lib.commands):
                    if needle and needle in b.text:
                        found[lib.library] = Library(lib.library, "code", self.where(b.section, needle))
                        break
        for ln in self.doc.links:  # "see the Transformers docs": huggingface.co/docs/<library>
            parts = [x for x in ln.url.split("/") if x]
            if len(parts) >= 4 and parts[1] in ("huggingface.co", "www.huggingface.co") and parts[2] == "docs":
                lib = self.k.library(parts[3])
                if lib is not None and lib.library not in found:
                    found[lib.library] = Library(lib.library, "prose", self.where(ln.section, ln.url))
        transformers = self.k.library("transformers")
        for b in self.doc.blocks:  # "You can use LlamaForCausalLM for model inference": a transformers class
            m = _HF_CLASS.search(b.text) if transformers is not None else None
            if m and transformers is not None and transformers.library not in found:
                found[transformers.library] = Library(transformers.library, "code" if b.kind == "code" else "prose",
                                                      self.where(b.section, m.group(0)))
        for section, text in self.blocks("usage", "preamble", "details", "other"):
            if not _RUN_WORDS.search(text):
                continue
            for name in self.k.library_name_index.finditer(text):
                lib = self.k.library(name)
                if lib is not None and lib.library not in found and _RUN_WORDS.search(text):
                    found[lib.library] = Library(lib.library, "prose", self.where(section, text))
        if not found:  # a family tag is the last word on what runs a checkpoint, not the first
            for t in self.tags():
                if t.lower() in _FAMILY_TAGS:
                    add(t, "tag", Where(self.url, "", f"tag: {t}"))
        f.libraries.extend(found.values())

    def links(self) -> None:
        f = self.facts
        seen: set[str] = set()
        for ln in self.doc.links:
            repos = github_repos([ln.url])
            if not repos:
                continue
            repo = repos[0]
            block_text = self.doc.blocks[ln.block].text if ln.block >= 0 else ln.text
            sent = next((s for s in sentences(block_text) if ln.text and ln.text in s), block_text)
            role = self.doc.role(ln.section)
            context = self._context(role, ln.text, sent)
            key = f"{repo.lower()}|{context}"
            if key in seen:
                continue
            seen.add(key)
            f.repos.append(RepoLink(repo, _clip(ln.text), role, self.where(ln.section, sent), context,
                                    _stage_hint(_before(sent, ln.text))))
            if len(f.repos) >= MAX_MENTIONS:
                return

    def named_frameworks(self) -> None:
        """Frameworks a card says it was trained with, by name only ("trained with fairseq")."""
        names = self.k.repo_name_index
        linked = {r.repo.lower() for r in self.facts.repos}
        for section, text in self.blocks("preamble", "details", "training", "training_data", "other"):
            if section >= 0 and 0 <= self.embedded_from <= section:
                continue
            for sent in sentences(text):
                if not _TRAINED_WITH.search(sent):
                    continue
                for found in names.finditer(sent):
                    if _only_in_ids(sent, found):  # "on top of sentence-transformers/all-MiniLM-L6-v2": a model
                        continue
                    if re.search(r"\b(fork|modified version|variant|derivative) of\s+(the\s+)?\W?$",
                                 _before(sent, found), re.I):
                        self.facts.statements.append(Statement("unlinked_fork", "code", "pretraining",
                                                               self.where(section, sent)))
                        continue
                    known = self.k.repo_by_name.get(_fold_name(found))
                    if known is None or known.repo.lower() in linked:
                        continue
                    linked.add(known.repo.lower())
                    self.facts.repos.append(RepoLink(known.repo, found, self.doc.role(section),
                                                     self.where(section, sent), "training",
                                                     _stage_hint(_before(sent, found)),
                                                     named_only=True))

    def _context(self, role: str, anchor: str, sent: str) -> str:
        """What a link's place says the repository is to this model.

        ``training`` only when the words say so ("training code: …", "trained using [X]", an anchor
        about training); a link that merely sits in a training section is ``training_section``: it
        counts as training code only when the repository itself is training code.
        """
        if role == "citation":
            return "citation"
        if role == "evaluation" or _EVAL_WORDS.search(anchor):
            return "evaluation"
        if role == "related":
            return "related"
        if _DATA_WORDS.search(anchor) and not _CODE_ANCHOR.search(anchor) and not _WEIGHT_WORDS.search(anchor):
            return "data"  # "fine-tuned … using the [MEDI dataset](github…)": what it was trained on, not with
        if _TRAINING_WORDS.search(anchor) or _TRAINING_CODE.search(sent) or _trained_with(sent, anchor):
            return "training"
        if role == "training_data":
            return "data"  # a row of a data table is a data source, even when it points to GitHub
        if role == "training":
            return "training_section"
        if self._names_model(anchor):
            return "code"  # "[Google's mT5](github…)": the model's own repository
        if _DATA_WORDS.search(anchor) and not _CODE_ANCHOR.search(anchor):
            return "data"
        if role == "usage" or _USAGE_WORDS.search(anchor):
            return "usage"
        if _CODE_ANCHOR.search(anchor) or _CODE_SENT.search(sent):
            return "code"
        return "other"

    def _names_model(self, anchor: str) -> bool:
        """An anchor that is the model's own name (family name, without size or variant)."""
        name = self.repo.id.split("/")[-1].lower()
        family = re.split(r"[-_.](?=\d|base|large|small|xl|xxl|tiny|mini|instruct|chat|v\d)", name)[0]
        words = set(_ANCHOR_WORDS.findall(anchor.lower()))
        return len(family) >= 2 and (family in words or family.replace("-", "") in {w.replace("-", "") for w in words})

    def datasets(self) -> None:
        f, k = self.facts, self.k
        seen: set[str] = set()

        def add(name: str, stage: str, origin: str, where: Where, hub: str | None = None) -> None:
            hub_id, alias = k.resolve_dataset(name)
            hub_id = hub or hub_id
            if alias is not None and alias.kind in ("benchmark", "safety") and stage == "training":
                stage = "training"  # a benchmark named as training data is training data here
            key = (hub_id or name).lower() + "|" + stage
            if key in seen or len(f.datasets) >= MAX_MENTIONS:
                return
            seen.add(key)
            f.datasets.append(DatasetMention(name, hub_id, stage, origin, where))

        for ln in self.doc.links:
            if self.doc.role(ln.section) == "training_data" and (
                    "huggingface.co/spaces/" in ln.url or _DATA_DOCS.search(ln.text)):
                block = self.doc.blocks[ln.block].text if ln.block >= 0 else ln.text
                f.statements.append(Statement("documented", "data", "pretraining", self.where(ln.section, block)))
                break
        declared = as_list(self.meta("datasets"))
        for name in declared[:50]:
            add(name, "training", "metadata", Where(self.url, "", f"datasets: {name}"))
        for ln in self.doc.links:
            hub = _hub_dataset_id(ln.url)
            if hub is None:
                continue
            role = self.doc.role(ln.section)
            block = self.doc.blocks[ln.block].text if ln.block >= 0 else ln.text
            stage = "" if role in ("related", "citation", "usage") else self._data_stage(role, block)
            if stage:
                add(hub, stage, "hub-url", self.where(ln.section, block), hub)
        names = k.dataset_name_index
        for section, text in self.blocks():
            role = self.doc.role(section)
            if role in ("citation", "license", "limitations", "usage", "related") or not names.search(text):
                continue
            for sent in sentences(text):
                stage = self._data_stage(role, sent)
                if not stage:
                    continue
                for found in names.finditer(sent):
                    if _named_as_data(sent, found, role):
                        add(found, stage, "name", self.where(section, sent))

    def _data_stage(self, role: str, text: str) -> str:
        """Which stage a dataset named here feeds, or "" when the place says nothing about training."""
        if role == "evaluation":
            return "benchmark"
        training = role in ("training", "training_data") or bool(
            re.search(r"\b(trained|pre-?trained|fine-?tuned|instruction-tuned|tuned|training (data|set|corpus)|"
                      r"train(ed)? on|distilled)\b", text, re.I))
        if not training:
            return ""
        hint = _stage_hint(text)
        return hint or "training"

    def statements(self) -> None:
        f = self.facts
        for section, text in self.blocks("preamble", "details", "training", "training_data", "other",
                                         "limitations", "usage"):
            role = self.doc.role(section)
            if not _STATEMENT_HINT.search(text) and not _COMPILED_NEW.search(text):
                continue
            for sent in sentences(text):
                if len(sent) > 600:
                    continue
                subject = ("data" if _DATA_WORDS.search(sent) else "code" if _CODE_WORDS.search(sent)
                           else "weights" if _WEIGHT_WORDS.search(sent) else "")
                if _CUSTOM_CODE.search(sent):
                    f.statements.append(Statement("custom_code", "code", "pretraining", self.where(section, sent)))
                    continue
                nr = _NOT_RELEASED.search(sent)
                if nr and subject and _near(sent, nr, _SUBJECT_WORDS[subject]) and not _LICENSE_TALK.search(sent) \
                        and role != "usage" and not re.search(r"\bnot (been )?(evaluated|tested|intended)", sent, re.I):
                    f.statements.append(Statement("not_released", subject, _stage_hint(sent),
                                                  self.where(section, sent)))
                elif subject == "data" and _COMPILED_PUBLIC.search(sent) and role in (
                        "training_data", "training", "details", "preamble", "other"):
                    f.statements.append(Statement("compiled_public", "data", _stage_hint(sent) or "pretraining",
                                                  self.where(section, sent)))
                elif _COMPILED_NEW.search(sent) and role in ("training_data", "training", "details", "preamble"):
                    f.statements.append(Statement("compiled_new", "data", _stage_hint(sent) or "pretraining",
                                                  self.where(section, sent)))
                if len(f.statements) >= MAX_MENTIONS:
                    return

    def evaluations(self) -> None:
        f, k = self.facts, self.k
        seen: set[str] = set()

        def add(name: str, origin: str, where: Where) -> None:
            hub, alias = k.resolve_dataset(name)
            key = (hub or (alias.names[0] if alias else name)).lower()
            if key in seen or len(f.evaluations) >= MAX_MENTIONS:
                return
            seen.add(key)
            f.evaluations.append(Evaluation(name, hub, k.is_safety_dataset(name), origin, where))

        mi = self.meta("model-index")
        for entry in mi if isinstance(mi, list) else []:
            for res in (entry.get("results") or []) if isinstance(entry, dict) else []:
                ds = res.get("dataset") if isinstance(res, dict) else None
                if isinstance(ds, dict):
                    name = ds.get("type") or ds.get("name")
                    if isinstance(name, str) and name.strip():
                        add(name.strip(), "model-index", Where(self.url, "model-index", f"dataset: {name}"))
        harness_named = {r.repo.lower() for r in f.repos}
        mteb = next((e for e in f.evaluations if e.origin == "model-index" and e.benchmark.lower().startswith("mteb/")),
                    None)
        if mteb is not None and _MTEB_REPO.lower() not in harness_named:  # the mteb package writes these results
            harness_named.add(_MTEB_REPO.lower())
            f.repos.append(RepoLink(_MTEB_REPO, "MTEB results in model-index", "evaluation", mteb.where, "evaluation",
                                    named_only=True))
        for b in self.doc.blocks:  # the harness that produced the results, named or recognised by its output
            if self.doc.role(b.section) != "evaluation":
                continue
            if _LM_EVAL_TABLE.search(b.text) and _HARNESS_REPO.lower() not in harness_named:
                harness_named.add(_HARNESS_REPO.lower())
                f.repos.append(RepoLink(_HARNESS_REPO, "lm-evaluation-harness output", "evaluation",
                                        self.where(b.section, b.text[:200]), "evaluation", named_only=True))
            for found in k.repo_name_index.finditer(b.text):
                known = k.repo_by_name.get(_fold_name(found))
                if known is not None and known.kind == "evaluation" and known.repo.lower() not in harness_named:
                    harness_named.add(known.repo.lower())
                    f.repos.append(RepoLink(known.repo, found, "evaluation", self.where(b.section, b.text[:200]),
                                            "evaluation", named_only=True))
            if b.kind == "code" and _METRIC_CODE.search(b.text):  # the evaluation code itself, shown in the card
                for m in _IMPORT.finditer(b.text):
                    lib = k.library_imports.get((m.group(1) or m.group(2) or "").split(".")[0])
                    if lib is not None:
                        f.signals.append(Signal("eval_code", lib.library, self.where(b.section, m.group(0).strip())))
                        break
        results = None
        for section, text in self.blocks("evaluation"):
            for found in k.dataset_name_index.finditer(text):
                _, alias = k.resolve_dataset(found)
                if alias is not None and alias.kind in ("benchmark", "safety", "mixed", None):
                    add(found, "table" if "|" in text else "prose", self.where(section, text))
            if results is None and _SCORES.search(text):
                results = (section, text)
        if results is not None and not f.evaluations:  # results reported, benchmarks not named in words we know
            f.evaluations.append(Evaluation("", None, False, "results", self.where(*results)))
        for section, text in self.blocks("evaluation", "limitations", "details", "other"):
            about_safety = _SAFETY_EVAL.search(self.doc.title(section)) or (
                self.doc.role(section) == "evaluation" and _SAFETY_EVAL.search(text[:300]))
            if about_safety and (_SCORES.search(text) or "|" in text):  # a fairness or red-team evaluation
                f.evaluations.append(Evaluation("", None, True, "results", self.where(section, text)))
                break

    def signals(self) -> None:
        f = self.facts
        tags = {t.lower() for t in self.tags()}

        def add(kind: str, detail: str, where: Where) -> None:
            if not any(s.kind == kind and s.detail == detail for s in f.signals):
                f.signals.append(Signal(kind, detail, where))

        for t in sorted(tags & _ALIGN_TAGS):
            add("alignment", t, Where(self.url, "", f"tag: {t}"))
        for t in sorted(tags & _SFT_TAGS):
            add("sft", t, Where(self.url, "", f"tag: {t}"))
        tuned = _TUNED_NAME.search(self.repo.id.split("/")[-1])
        if tuned is not None and f.relation not in ("quantized", "merge"):  # "…-7b-fast-instruct": instruction-tuned
            add("sft", tuned.group(1).lower(), Where(self.url, "", f"model name: {self.repo.id}"))
        for t in sorted(tags & set(_TRAINER_TAGS)):
            add("trainer", _TRAINER_TAGS[t], Where(self.url, "", f"tag: {t}"))
        if "generated_from_trainer" in tags or "generated_from_keras_callback" in tags:
            add("trainer", "transformers" if "generated_from_trainer" in tags else "keras",
                Where(self.url, "", "tag: generated_from_trainer"))
        for section, text in self.blocks("preamble", "details", "training", "training_data", "other"):
            if section >= 0 and 0 <= self.embedded_from <= section and f.relation in ("quantized",):
                pass  # an embedded original card describes the base: its stages are the base's
            for sent in sentences(text):
                if _FROM_SCRATCH.search(sent):
                    add("from_scratch", "", self.where(section, sent))
                am = _ALIGNED.search(sent)
                if am and re.match(r"\s*(data|datasets?)\b", sent[am.end():], re.I):
                    am = None  # "responses from RLHF datasets": a source of text, not an alignment stage
                if am and not _MODAL.search(sent.split(",")[0]) and not _NEGATED.search(sent[:am.start()][-60:]):
                    add("alignment", am.group(0).lower(), self.where(section, sent))
                fm = _WAS_FINETUNED.search(sent)
                if fm and not _MODAL.search(sent[:fm.start()]) and not _NEGATED.search(sent[:fm.end()][-60:]):
                    add("sft", fm.group(0).lower(), self.where(section, sent))
                if re.search(r"\b(unsloth)\b", sent, re.I) and re.search(r"\btrained\b", sent, re.I):
                    add("trainer", "unsloth", self.where(section, sent))
                if re.search(r"\bbuilt with axolotl\b", sent, re.I):
                    add("trainer", "axolotl", self.where(section, sent))
                if _CHECKPOINTS.search(sent) and _PUBLISHED.search(sent) and not _MODAL.search(sent) \
                        and not _FUTURE.search(sent):
                    add("checkpoints", "intermediate", self.where(section, sent))
        titles = " ".join(s.title.lower() for s in self.doc.sections)
        if "training hyperparameters" in titles and "framework versions" in titles:
            framework = "trl" if any("TRL" in t for _, t in self.blocks()) and "trl" in tags else "transformers"
            where = Where(self.url, "Framework versions", "training hyperparameters and framework versions in the card")
            add("trainer", framework, where)
            add("trainer_config", framework, where)  # the configuration itself, not only the framework's name
        for b in self.doc.blocks:
            if b.kind == "code" and "micro_batch_size" in b.text and "base_model" in b.text:
                add("trainer", "axolotl", self.where(b.section, "axolotl config in the card"))
                add("trainer_config", "axolotl", self.where(b.section, "axolotl config in the card"))
                break
        hyper = next((i for i, sec in enumerate(self.doc.sections) if "hyperparameter" in sec.title.lower()), None)
        named = next((sg for sg in f.signals if sg.kind == "trainer"), None)
        if hyper is not None and named is not None:  # a framework the card names, with the settings it ran with
            add("trainer_config", named.detail, Where(self.url, self.doc.sections[hyper].title,
                                                      f"{named.where.text}; hyperparameters in the card"))
        for ln in self.doc.links:  # the leaderboard's scores of *this* model, not a ranking claim about another
            if any(x in ln.url.lower() for x in _LEADERBOARD):
                block = self.doc.blocks[ln.block].text if ln.block >= 0 else ln.text
                if self.doc.role(ln.section) == "evaluation" or (
                        _RESULT_WORDS.search(block) and not re.search(r"\branked\b", block, re.I)):
                    add("leaderboard", "open-llm-leaderboard", self.where(ln.section, block))
                    break
        mi = self.meta("model-index")
        if isinstance(mi, list) and "open_llm_leaderboard" in str(mi).lower().replace("-", "_"):
            add("leaderboard", "open-llm-leaderboard", Where(self.url, "model-index", "Open LLM Leaderboard"))


    def description(self) -> None:
        """Task, architecture and size as the card states them (the CycloneDX model card's parameters)."""
        f = self.facts
        task = self.repo.info.get("pipeline_tag") or self.meta("pipeline_tag")
        f.task = task.strip() if isinstance(task, str) and task.strip() else None
        arch = as_list(self.meta("architectures")) or as_list(self.meta("model_type"))
        f.architecture = arch[0] if arch else None
        for section, text in self.blocks("preamble", "details", "other", "training"):
            if section >= 0 and 0 <= self.embedded_from <= section:
                break
            m = _PARAMS.search(text)
            if m is not None:
                number = float(m.group(1).replace(",", ""))
                f.parameters = round(number * _SCALE[m.group(2).lower()])
                f.parameters_text = _clip(m.group(0))
                return

    def results(self) -> None:
        """Values the card reports: ``model-index`` metrics, and two-column result tables (benchmark | score)."""
        f = self.facts
        mi = self.meta("model-index")
        for entry in mi if isinstance(mi, list) else []:
            for res in (entry.get("results") or []) if isinstance(entry, dict) else []:
                if not isinstance(res, dict):
                    continue
                ds = res.get("dataset") if isinstance(res.get("dataset"), dict) else {}
                bench = str(ds.get("name") or ds.get("type") or "").strip()
                for m in res.get("metrics") or []:
                    if isinstance(m, dict) and m.get("value") is not None and bench:
                        metric = str(m.get("type") or m.get("name") or "").strip()
                        said = _clip(f"{bench}: {metric} {m['value']}")
                        f.results.append(Result(bench, metric, str(m["value"])[:60], "model-index",
                                                Where(self.url, "model-index", said)))
                        if len(f.results) >= MAX_MENTIONS:
                            return
        header: list[str] = []
        for b in self.doc.blocks:
            if b.kind != "row" or self.doc.role(b.section) != "evaluation":
                continue
            cells = [c.strip() for c in b.text.split(" | ")]
            if b.info == "header":
                header = cells
                continue
            if len(cells) == 2 == len(header) and cells[0] and _NUMBER.match(cells[1]):
                f.results.append(Result(cells[0], header[1], cells[1], "table", self.where(b.section, b.text)))
                if len(f.results) >= MAX_MENTIONS:
                    return

    def papers(self) -> None:
        """Papers and technical reports the card links: MOF's research paper and technical report."""
        f = self.facts
        seen: set[str] = set()
        for ln in self.doc.links:
            try:
                parts = urlsplit(ln.url)
            except ValueError:
                continue
            host = (parts.hostname or "").lower()
            if parts.scheme not in ("http", "https") or not host or self.doc.role(ln.section) in (
                    "evaluation", "training_data"):
                continue  # an anchor in the card; a benchmark's or a dataset's paper
            block = self.doc.blocks[ln.block].text if ln.block >= 0 else ln.text
            sent = next((s for s in sentences(block) if ln.text and ln.text in s), block)
            if _BASE_PHRASES.search(sent) or _NOT_TRAINED_ON.search(sent):
                continue  # the base model's paper, or one the card compares with
            report = bool(_REPORT_WORDS.search(ln.text)) or (not re.search(r"\bpaper\b", ln.text, re.I) and bool(
                _REPORT_WORDS.search(sent[:300])))  # the anchor's words first, then its sentence's
            paper = host in _PAPER_HOSTS and ("/abs/" in parts.path or "/pdf/" in parts.path or host != "arxiv.org")
            if not (paper or (report and (parts.path.lower().endswith(".pdf") or _REPORT_WORDS.search(ln.text)))):
                continue
            key = ln.url.split("#")[0].rstrip("/").replace("/pdf/", "/abs/").removesuffix(".pdf").lower()
            if key in seen:
                continue
            seen.add(key)
            f.papers.append(Paper(ln.url, "report" if report else "paper", self.where(ln.section, sent)))
            if len(f.papers) >= 10:
                return
        for t in self.tags():
            if t.startswith("arxiv:") and len(f.papers) < 10:
                url = f"https://arxiv.org/abs/{t.split(':', 1)[1]}"
                if url.lower() not in seen:
                    seen.add(url.lower())
                    f.papers.append(Paper(url, "paper", Where(self.url, "", f"tag: {t}")))

    def considerations(self) -> None:
        """The text of the card's limitations and intended-use sections, as written (clipped)."""
        f = self.facts
        texts: dict[int, list[str]] = {}
        for b in self.doc.blocks:
            if b.section < 0 or b.kind == "code":
                continue
            title = self.doc.sections[b.section].title
            if self.doc.sections[b.section].role == "limitations" or _USE_TITLE.match(title.strip()):
                texts.setdefault(b.section, []).append(b.text)
        for section, blocks in list(texts.items())[:8]:
            text = " ".join(_PLACEHOLDER.sub(" ", " ".join(blocks)).split())
            if len(text) < 20:
                continue  # an unfilled template section
            if len(text) > MAX_CONSIDERATION:
                text = text[: MAX_CONSIDERATION - 1] + "…"
            where = Where(self.url, self.doc.title(section), text)
            limits = self.doc.sections[section].role == "limitations" or not _USE_TITLE.match(where.section.strip())
            (f.limitations if limits else f.uses).append(where)


def _near(sent: str, m: re.Match[str], words: re.Pattern[str], window: int = 60) -> bool:
    """The statement's subject word stands near its non-release word ("the data is not released"), not
    in another clause ("on par with the original closed-source model … trained on public data")."""
    return bool(words.search(sent[max(0, m.start() - window): m.end() + window]))


def _only_in_ids(sent: str, name: str) -> bool:
    """A name that appears only as part of a Hub or GitHub id (``org/model``), never on its own."""
    spots = [m for m in re.finditer(re.escape(name), sent)]
    return bool(spots) and all(sent[m.end():m.end() + 1] == "/" or sent[max(0, m.start() - 1):m.start()] == "/"
                               for m in spots)


def _before(sent: str, anchor: str) -> str:
    """The part of a sentence before an anchor: what it says the anchor is for ("we train … using [X]")."""
    at = sent.find(anchor) if anchor else -1
    return sent[:at] if at > 0 else sent


def _plausible_id(cand: str) -> bool:
    """``ORG/NAME`` written in prose that can be a Hub model id, not "ViT-L/14", "50/50" or "X/Twitter"."""
    if cand.count("/") != 1 or cand.lower().startswith(("http", "www")):
        return False
    org, name = cand.split("/")
    return (len(org) >= 2 and org[0].isalpha() and "." not in org and org.lower() not in _PATHLIKE_ORGS
            and len(name) >= 3 and any(c.isalpha() for c in name)
            and any(c.isdigit() or c == "-" or c.isupper() for c in name))


def _named_as_data(sent: str, name: str, role: str) -> bool:
    """A dataset named in a sentence is training data when the sentence trains on it, not when it only
    compares ("outperforms models such as X", "inspired by X")."""
    at = sent.find(name)
    before = sent[:at] if at >= 0 else sent
    clause = re.split(r"[;:()]|, (?:and |but |which |while )", before)[-1]
    if _NOT_TRAINED_ON.search(clause[-60:]):
        return False
    if role in ("training_data", "training"):
        return True
    return bool(_TRAINED_ON.search(before))


def _trained_with(sent: str, anchor: str) -> bool:
    """The anchor is what the sentence says the model was trained with ("trained … using [X]")."""
    if not anchor.strip():
        return False
    return bool(re.search(r"\b(train|trains|trained|training|pre-?train\w*|fine-?tun\w*|built|developed|"
                          r"implemented)\b[^.]{0,100}?"
                          r"\b(using|with|via|in|on top of|by means of)\b[^.]{0,30}?" + re.escape(anchor.strip()),
                          sent, re.I))


def _fold_name(name: str) -> str:
    from harvester.licenses.rules import fold

    return fold(name)


def _stage_hint(text: str) -> str:
    for stage, pattern in _STAGE_WORDS:
        if pattern.search(text):
            return stage
    return ""


def read_card(repo: RepoCard, k: Knowledge) -> CardFacts:
    """Facts of one Hub card (model or dataset); never raises on content."""
    return _CardReader(repo, k).read()
