"""Steps 4-7, the quarterly review: SLAs, the handoff loop, one shared funnel, win/loss, change and fixes."""
