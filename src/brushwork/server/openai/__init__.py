"""OpenAI-compatible Images API (SPEC §6): ``protocol`` (its requests, mapped to app inputs),
``serving`` (as brushwork tasks, answered in OpenAI's shape), ``router`` (the routes)."""
