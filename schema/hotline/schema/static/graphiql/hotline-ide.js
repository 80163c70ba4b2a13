/* The Hotline GraphiQL page (docs/frontend.md). No inline script: the page's
 * Content-Security-Policy allows scripts from this origin only. The configuration comes
 * in the JSON block #hotline-config; in development it lists the demo users, and a click
 * logs one in with the `login` mutation and puts the token (and the city) into the
 * request headers. Subscriptions use the same headers as their connection_init payload. */
(function () {
  "use strict";
  var h = React.createElement;
  var config = JSON.parse(document.getElementById("hotline-config").textContent);
  var endpoint = new URL(config.endpoint, window.location.href);
  var subscriptions = new URL(endpoint.href);
  subscriptions.protocol = endpoint.protocol === "https:" ? "wss:" : "ws:";

  var fetcher = GraphiQL.createFetcher({
    url: endpoint.href,
    subscriptionUrl: subscriptions.href,
  });

  var LOGIN =
    "mutation Login($u: String!, $p: String!) { login(username: $u, password: $p) {" +
    " tokens { accessToken refreshToken expiresIn } errors { code message } } }";

  function LoginBar(props) {
    var users = config.demoUsers || [];
    var picked = React.useState(users.length ? users[0].username : "");
    var status = React.useState({ text: "", error: false });
    if (!users.length) return null;

    function login() {
      var user = users.find(function (u) { return u.username === picked[0]; });
      status[1]({ text: "logging in as " + user.username + "…", error: false });
      fetch(endpoint.href, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ query: LOGIN, variables: { u: user.username, p: config.demoPassword } }),
      })
        .then(function (r) { return r.json(); })
        .then(function (answer) {
          var result = answer.data && answer.data.login;
          if (!result || !result.tokens) {
            var why = (result && result.errors[0]) || (answer.errors && answer.errors[0]) || {};
            throw new Error(why.message || "login failed");
          }
          var headers = { Authorization: "Bearer " + result.tokens.accessToken };
          if (user.tenant) headers["X-Hotline-Tenant"] = user.tenant;
          props.setHeaders(JSON.stringify(headers, null, 2));
          status[1]({ text: "logged in as " + user.username + " (token in the headers)", error: false });
        })
        .catch(function (e) { status[1]({ text: String(e.message || e), error: true }); });
    }

    return h(
      React.Fragment,
      null,
      h("strong", null, "Demo logins"),
      h(
        "select",
        { id: "hotline-user", value: picked[0], onChange: function (e) { picked[1](e.target.value); } },
        users.map(function (u) {
          return h("option", { key: u.username, value: u.username },
            u.username + " — " + u.role + (u.tenant ? " @ " + u.tenant : ""));
        })
      ),
      h("button", { id: "hotline-login", type: "button", onClick: login }, "Log in"),
      h("button", { id: "hotline-logout", type: "button",
        onClick: function () { props.setHeaders("{}"); status[1]({ text: "logged out", error: false }); } },
        "Clear"),
      h("span", { id: "hotline-status", className: status[0].error ? "hotline-error" : "hotline-status" },
        status[0].text)
    );
  }

  function Page() {
    var headers = React.useState(window.localStorage.getItem("hotline:headers") || "");
    var query = React.useState(config.defaultQuery);
    var explorer = React.useMemo(function () { return GraphiQLPluginExplorer.explorerPlugin(); }, []);
    function setHeaders(text) {
      window.localStorage.setItem("hotline:headers", text);
      headers[1](text);
    }
    return h(
      React.Fragment,
      null,
      ReactDOM.createPortal(h(LoginBar, { setHeaders: setHeaders }), document.getElementById("hotline-bar")),
      h(GraphiQL, {
        fetcher: fetcher,
        plugins: [explorer],
        query: query[0],
        onEditQuery: query[1],
        headers: headers[0],
        onEditHeaders: setHeaders,
        defaultEditorToolsVisibility: true,
        isHeadersEditorEnabled: true,
        shouldPersistHeaders: false,
        inputValueDeprecation: true,
      })
    );
  }

  ReactDOM.createRoot(document.getElementById("graphiql")).render(h(Page));
})();
