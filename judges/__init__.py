"""LLM judges: versioned configs, prompt templates, providers over httpx, verdict parsing,
and resumable multi-worker runs.

Modules: ``config`` (judge versions), ``templates``, ``providers/`` (one module per wire
format behind one interface), ``parsing`` (verdicts and scores), ``prompts`` (requests for a
task), ``runs`` (run lifecycle), ``worker`` (the async worker and its httpx client),
``writer`` (storing verdicts), ``verdicts`` (swap resolution, browsing), ``preview``
(prompt preview, dry run), ``pricing`` (genai-prices plus overrides).
"""
