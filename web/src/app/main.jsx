// The web client at /: log in or register, then chat (README "Try it").
import { render } from "preact";
import { attempt, start } from "./store.js";
import { resume } from "./api.js";
import { App } from "./views.jsx";

render(<App />, document.getElementById("app"));
if (resume()) attempt(start);
