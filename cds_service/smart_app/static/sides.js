// Findings by side and date, from the patient's Observations and Conditions.
// Which codes count, and the side a code or a body site carries, come from the service's value
// sets (config.json): this file holds no codes. Text ("left", "right", "both") is the last resort,
// as in the service's own reading (cds_service/laterality.py).
"use strict";
window.LegSides = (function () {
  const WORDS = [[/\b(bilateral|both)\b/i, "bilateral"], [/\bleft\b/i, "left"], [/\bright\b/i, "right"]];

  function combine(sides) {
    const found = new Set(sides.filter(Boolean));
    if (found.size === 0) return null;
    if (found.has("bilateral") || (found.has("left") && found.has("right"))) return "bilateral";
    return found.values().next().value;
  }

  function fromText(text) {
    if (typeof text !== "string") return null;
    return combine(WORDS.filter(([pattern]) => pattern.test(text)).map(([, side]) => side));
  }

  function codings(concept) {
    return (concept && Array.isArray(concept.coding)) ? concept.coding : [];
  }

  function dateOf(resource) {
    const r = resource;
    const value = r.effectiveDateTime || (r.effectivePeriod && r.effectivePeriod.start) || r.issued
      || r.onsetDateTime || (r.onsetPeriod && r.onsetPeriod.start) || r.recordedDate || null;
    return typeof value === "string" ? value.slice(0, 10) : null;
  }

  function label(resource, known) {
    const code = resource.code || {};
    const shown = codings(code).find((c) => c.display);
    return code.text || (shown && shown.display) || known.title;
  }

  // One finding per resource whose code is in a value set; null otherwise.
  function finding(resource, config) {
    if (!resource || !resource.code) return null;
    let known = null;
    let side = null;
    for (const c of codings(resource.code)) {
      const hit = config.codes[c.system + "|" + c.code];
      if (hit) { known = known || hit; side = side || hit.side; }
    }
    if (!known) return null;
    const sites = Array.isArray(resource.bodySite) ? resource.bodySite : (resource.bodySite ? [resource.bodySite] : []);
    if (!side) {
      side = combine(sites.flatMap((s) => codings(s).map((c) => config.bodySites[c.system + "|" + c.code])));
    }
    if (!side) {
      side = combine([...sites.map((s) => fromText(s.text)), fromText(resource.code.text),
                      ...codings(resource.code).map((c) => fromText(c.display))]);
    }
    const quantity = resource.valueQuantity;
    const absent = resource.resourceType === "Condition" && resource.verificationStatus
      && codings(resource.verificationStatus).some((c) => c.code === "refuted");
    return {
      sign: known.sign,
      title: config.titles[known.sign] || known.sign,
      label: label(resource, { title: config.titles[known.sign] || known.sign }),
      side: side,
      date: dateOf(resource),
      value: quantity && typeof quantity.value === "number" ? quantity.value : null,
      absent: Boolean(absent),
      resourceType: resource.resourceType,
    };
  }

  function byDateDesc(a, b) {
    return (b.date || "").localeCompare(a.date || "");
  }

  // {left: [...], right: [...], none: [...]}; a bilateral finding is listed on both legs.
  function split(resources, config) {
    const legs = { left: [], right: [], none: [] };
    for (const resource of resources) {
      const f = finding(resource, config);
      if (!f) continue;
      if (f.side === "bilateral") { legs.left.push(f); legs.right.push(f); } else { legs[f.side || "none"].push(f); }
    }
    for (const key of Object.keys(legs)) legs[key].sort(byDateDesc);
    return legs;
  }

  return { split: split, finding: finding, fromText: fromText };
})();
