"""What the state sees of each district: how fresh its copy is, and whether it equals the site.

- sync_log: every successful rebuild of an object for a district (who asked, when);
- freshness: per district and object, the last resync, the last pull, the site's latest change,
  and a stale / fresh verdict against the sync cadence;
- verify: a district's site against the landing, and the state tables against their
  recomputation from the landing, stored with the time taken;
- repair: the smallest resync requests that remove the differences a verification found.
"""
