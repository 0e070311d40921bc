"""LLM judges: versioned configs, prompt templates, providers over httpx, verdict parsing,
and a resumable multi-worker runner.

Modules: ``config`` (judge versions), ``templates``, ``providers`` (wire formats),
``parsing`` (verdicts and scores), ``prompts`` (requests for a task), ``runner`` (runs),
``verdicts`` (swap resolution, browsing), ``preview`` (prompt preview, dry run),
``pricing``, ``http`` (the client runs use), ``cli`` (``judgeboard judge ...``).
"""
