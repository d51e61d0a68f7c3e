// Preact + HTM, vendored under /static/vendor and named by the page's import map. HTM builds
// elements, never HTML strings: every piece of text it is given is rendered as text.
import { h, render, Fragment } from "preact";
import htm from "htm";

export const html = htm.bind(h);
export { render, Fragment };
