"""The page side of the liveness probe (JavaScript sources only; see studio.web.liveness).

``INSTRUMENT_JS`` runs at document creation in the main world of a probe page (never the preview the
user sees): it counts the page's key and pointer listeners and their calls, and long tasks.
``PROBE_JS`` defines the calls the probe makes later; every call returns a JSON string.
"""

from __future__ import annotations

INSTRUMENT_JS = r"""
(() => {
  if (window.__studioProbe) return;
  const st = { keys: 0, pointer: 0, handled: 0, long: 0, frames: 0, counting: false, mo: null, mut: 0,
               targets: [] };  // elements given a pointer listener (a board's cells), the first 64
  const KEY = new Set(["keydown", "keyup", "keypress"]);
  const PTR = new Set(["click", "dblclick", "mousedown", "mouseup", "pointerdown", "pointerup",
                       "touchstart", "touchend", "input", "change"]);
  const add = EventTarget.prototype.addEventListener;
  const remove = EventTarget.prototype.removeEventListener;
  const wraps = new WeakMap();
  EventTarget.prototype.addEventListener = function (type, fn, opts) {
    const key = KEY.has(type);
    if ((key || PTR.has(type)) && typeof fn === "function") {
      if (key) st.keys++; else st.pointer++;
      if (!key && this instanceof Element && st.targets.length < 64 && !st.targets.includes(this)) {
        st.targets.push(this);
      }
      let w = wraps.get(fn);
      if (!w) {
        w = function (...args) { st.handled++; return fn.apply(this, args); };
        wraps.set(fn, w);
      }
      return add.call(this, type, w, opts);
    }
    return add.call(this, type, fn, opts);
  };
  EventTarget.prototype.removeEventListener = function (type, fn, opts) {
    return remove.call(this, type, (typeof fn === "function" && wraps.get(fn)) || fn, opts);
  };
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) if (e.duration > 200) st.long++;
    }).observe({ type: "longtask", buffered: true });
  } catch (e) { /* no long-task timing here */ }
  Object.defineProperty(window, "__studioProbe", { value: st, enumerable: false });
})();
"""

PROBE_JS = r"""
(() => {
  const st = window.__studioProbe;
  if (!st || st.api) return "installed";
  const ON_KEYS = ["onkeydown", "onkeyup", "onkeypress"];
  const ON_PTR_PROPS = ["onclick", "onmousedown", "onpointerdown"];
  const countMut = (records) => { st.mut += records.length; };
  const visible = (el) => {
    const r = el.getBoundingClientRect();
    if (r.width < 2 || r.height < 2) return null;
    if (r.right <= 0 || r.bottom <= 0 || r.left >= innerWidth || r.top >= innerHeight) return null;
    const cs = getComputedStyle(el);
    if (cs.visibility === "hidden" || cs.display === "none" || Number(cs.opacity) === 0) return null;
    return r;
  };
  const label = (el) => {
    const t = (el.getAttribute("aria-label") || el.innerText || el.value || el.placeholder ||
               el.title || el.id || (el.classList.length ? "." + el.classList[0] : "") ||
               el.tagName.toLowerCase()).trim().replace(/\s+/g, " ");
    return t.length > 30 ? t.slice(0, 29) + "…" : t;
  };
  const centre = (el, r) => ({ x: r.left + r.width / 2, y: r.top + r.height / 2 });
  const mouse = (el, x, y) => {
    const o = { bubbles: true, cancelable: true, composed: true, clientX: x, clientY: y, button: 0,
                view: window };
    const target = document.elementFromPoint(x, y) || el;
    const hit = el.contains(target) ? target : el;
    for (const t of ["pointerdown", "mousedown", "pointerup", "mouseup"]) {
      const E = t.startsWith("pointer") ? PointerEvent : MouseEvent;
      hit.dispatchEvent(new E(t, Object.assign({ pointerId: 1, isPrimary: true }, o)));
    }
    hit.dispatchEvent(new MouseEvent("click", o));
  };
  const KEYS = {
    ArrowLeft: ["ArrowLeft", 37], ArrowRight: ["ArrowRight", 39], ArrowUp: ["ArrowUp", 38],
    ArrowDown: ["ArrowDown", 40], Space: [" ", 32], Enter: ["Enter", 13],
  };
  const press = (name) => {
    const [key, code] = KEYS[name];
    const target = document.activeElement && document.activeElement !== document.body
      ? document.activeElement : (document.body || document.documentElement);
    const o = { key, code: name === "Space" ? "Space" : name, keyCode: code, which: code,
                bubbles: true, cancelable: true, composed: true, view: window };
    target.dispatchEvent(new KeyboardEvent("keydown", o));
    if (name === "Space" || name === "Enter") target.dispatchEvent(new KeyboardEvent("keypress", o));
    target.dispatchEvent(new KeyboardEvent("keyup", o));
  };
  const blockSubmit = (e) => e.preventDefault();  // a probe click never navigates the page away
  window.addEventListener("submit", blockSubmit, true);
  let actions = [];
  st.api = {
    begin() {
      st.mo = new MutationObserver(countMut);
      st.mo.observe(document, { subtree: true, childList: true, attributes: true, characterData: true });
      st.frames = 0; st.counting = true;
      const t0 = performance.now();
      const tick = () => { if (!st.counting) return; st.frames++; st.t = performance.now() - t0;
                           requestAnimationFrame(tick); };
      requestAnimationFrame(tick);
      return JSON.stringify({ ok: true });
    },
    fps() {
      st.counting = false;
      return JSON.stringify({ fps: st.t > 0 ? (st.frames * 1000) / st.t : 0, long: st.long });
    },
    survey() {
      const de = document.documentElement;
      const overflow = de.scrollWidth > de.clientWidth + 1 ||
                       (document.body ? document.body.scrollWidth > de.clientWidth + 1 : false);
      actions = [];
      // A control is meant to do something when the page listens for pointer input anywhere, or
      // the control (or an ancestor) has an on* handler; a lone decorative <button> is not clicked.
      const ON_CTRL = ["onclick", "onmousedown", "onpointerdown", "onmouseup", "oninput", "onchange"];
      const listens = st.pointer > 0 || [window, document, document.body].some(
        (t) => t && ON_CTRL.some((k) => typeof t[k] === "function"));
      const handled = (el) => {
        for (let e = el; e && e.nodeType === 1; e = e.parentElement) {
          if (ON_CTRL.some((k) => typeof e[k] === "function") || e.tagName === "FORM") return true;
        }
        return false;
      };
      const sel = "button, input:not([type=hidden]), textarea, select, [role=button], [onclick], " +
                  "a[href^='#'], summary";
      for (const el of document.querySelectorAll(sel)) {
        if (actions.length >= 8) break;
        if (el.disabled || !(listens || handled(el))) continue;
        const r = visible(el);
        if (!r) continue;
        const type = (el.type || "").toLowerCase();
        const text = el.tagName === "TEXTAREA" ||
          (el.tagName === "INPUT" && !["button", "submit", "reset", "checkbox", "radio", "image",
                                       "color", "file"].includes(type));
        if (el.tagName === "SELECT" || type === "file" || type === "color") continue;
        const kind = text ? "type" : (type === "checkbox" || type === "radio") ? "toggle" : "click";
        actions.push({ el, kind, label: label(el), ...centre(el, r) });
      }
      // Elements the page itself listens on (cells of a board, cards), and those with an on* property:
      // the first of each distinct kind (tag + class), so a 3x3 board costs one click, not nine.
      const seen = new Set(actions.map((a) => a.el));
      const kinds = new Set();
      const own = [...st.targets];
      for (const el of document.querySelectorAll("body *")) {
        if (own.length >= 128) break;
        if (ON_PTR_PROPS.some((k) => typeof el[k] === "function")) own.push(el);
      }
      for (const el of own) {
        if (actions.length >= 8) break;
        if (seen.has(el) || el.tagName === "CANVAS" || el === document.body || !el.isConnected) continue;
        if (el.tagName === "A" && !(el.getAttribute("href") || "#").startsWith("#")) continue;
        if ([...seen].some((s) => s.contains(el) || el.contains(s))) continue;
        const kind = el.tagName + "." + [...el.classList].sort().join(".");
        if (kinds.has(kind)) continue;
        const r = visible(el);
        if (!r) continue;
        kinds.add(kind);
        seen.add(el);
        actions.push({ el, kind: "click", label: label(el), ...centre(el, r) });
      }
      let canvas = null, area = 0;
      for (const c of document.querySelectorAll("canvas")) {
        const r = visible(c);
        if (r && r.width * r.height > area) { canvas = { el: c, r }; area = r.width * r.height; }
      }
      const ON_PTR = ["onclick", "onmousedown", "onpointerdown", "onmouseup", "onpointerup", "ontouchstart"];
      const pointed = st.pointer > 0 || [window, document, document.body, canvas && canvas.el].some(
        (t) => t && ON_PTR.some((k) => typeof t[k] === "function"));
      if (canvas && pointed) actions.push({ el: canvas.el, kind: "canvas", label: "the canvas centre",
                                 ...centre(canvas.el, canvas.r) });
      const keyed = st.keys > 0 || [window, document, document.body].some(
        (t) => t && ON_KEYS.some((k) => typeof t[k] === "function")) ||
        !!document.querySelector("[onkeydown],[onkeyup],[onkeypress]");
      const typed = actions.filter((a) => a.kind === "type");
      actions = actions.filter((a) => a.kind !== "type");
      if (keyed) for (const k of Object.keys(KEYS)) actions.push({ kind: "key", label: k });
      actions.push(...typed);  // last: typing leaves a caret behind
      let webgl = null;
      if (canvas || document.querySelector("canvas") || window.THREE) {
        const gl = document.createElement("canvas").getContext("webgl");
        webgl = !!gl;
        if (gl) { const lose = gl.getExtension("WEBGL_lose_context"); if (lose) lose.loseContext(); }
      }
      return JSON.stringify({ overflow, webgl, keyed, listeners: st.keys + st.pointer,
                              actions: actions.map((a) => ({ kind: a.kind, label: a.label })) });
    },
    act(i) {
      const a = actions[i];
      if (!a) return JSON.stringify({ ok: false });
      st.mut += st.mo ? st.mo.takeRecords().length : 0;
      const h0 = st.handled;
      const m0 = st.mut;
      if (a.kind === "key") press(a.label);
      else if (a.kind === "type") {
        a.el.focus();
        a.el.value = a.el.type === "range" ? String((Number(a.el.min || 0) + Number(a.el.max || 100)) / 2)
                                          : (a.el.type === "number" ? "7" : "hello");
        a.el.dispatchEvent(new Event("input", { bubbles: true }));
        a.el.dispatchEvent(new Event("change", { bubbles: true }));
        if (a.el.type !== "range") press("Enter");
        a.el.blur();
      } else mouse(a.el, a.x, a.y);
      const sync = st.mo ? st.mo.takeRecords().length : 0;
      st.mut += sync;
      st.m0 = m0 + sync;
      return JSON.stringify({ ok: true, sync, handled: st.handled - h0 });
    },
    since() {
      st.mut += st.mo ? st.mo.takeRecords().length : 0;
      return JSON.stringify({ mut: st.mut - st.m0 });
    },
    end() {
      if (st.mo) st.mo.disconnect();
      st.counting = false;
      window.removeEventListener("submit", blockSubmit, true);
      return JSON.stringify({ ok: true });
    },
  };
  return "installed";
})()
"""
