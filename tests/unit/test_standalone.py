"""The React harness loads only what the offline runtime pack serves."""

from __future__ import annotations

import json

from studio.core.runtime import resolve_cdn_url
from studio.core.standalone import BABEL_URL, REACT_IMPORTS, REACT_VERSION, import_map, react_harness


def test_harness_urls_are_canonical_pack_modules() -> None:
    for name, url in REACT_IMPORTS.items():
        pf = resolve_cdn_url(url)
        assert pf is not None, name
        assert pf.version == REACT_VERSION and pf.module is not None
        assert not pf.stub and pf.canonical == url, "the harness's URL is the module instance itself"
    babel = resolve_cdn_url(BABEL_URL)
    assert babel is not None and (babel.pin, babel.path) == ("@babel/standalone@7.26.4", "babel.min.js")


def test_other_bare_imports_use_the_pack_when_it_has_them() -> None:
    imports = import_map('import * as THREE from "three";\nimport confetti from "canvas-confetti";\n')
    three = resolve_cdn_url(imports["three"])
    assert three is not None and three.pin == "three@0.160.0" and three.path == "build/three.module.js"
    assert resolve_cdn_url(imports["canvas-confetti"]) is None, "not in the pack: the harness reports it"


def test_harness_import_map_is_the_pack_map() -> None:
    page = react_harness('import React from "react";\nexport default () => <b/>;\n', "t")
    imports = json.loads(page.split('<script type="importmap">', 1)[1].split("</script>", 1)[0])["imports"]
    assert imports == REACT_IMPORTS
