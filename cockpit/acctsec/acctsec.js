/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The "Account security" page.  It runs the acctsec command with --json,
 * as the logged-in user for the user's own tabs and, for the
 * administration tab, with Cockpit's administrative access when it is on
 * ("superuser: try": root, else the user, whom acctsecd may still know as
 * an administrator through admin_group).  It parses what the command
 * prints and shows the command's own error text when it fails: every
 * decision stays with acctsecd.  The password change goes through
 * passwd(1), that is the system's password stack, on a terminal, as
 * Cockpit's own account page does.
 *
 * No framework: small DOM helpers below, PatternFly 4's classes as
 * Cockpit's shell stylesheet carries them, strings through
 * cockpit.gettext so that a po.LANG.js next to this file translates them.
 */
"use strict";

(function () {
    const _ = cockpit.gettext;
    const format = cockpit.format;

    /* --- DOM helpers ---------------------------------------------------- */

    /* h("div", { class: "x", onclick: f }, child, "text", [more]) */
    function h(tag, attrs, ...kids) {
        const el = document.createElement(tag);
        for (const [k, v] of Object.entries(attrs || {})) {
            if (v === undefined || v === null || v === false)
                continue;
            if (k.startsWith("on"))
                el.addEventListener(k.slice(2), v);
            else if (k === "text")
                el.textContent = v;
            else
                el.setAttribute(k, v === true ? "" : v);
        }
        append(el, kids);
        return el;
    }

    function append(el, ...kids) {
        for (const k of kids.flat(Infinity)) {
            if (k === undefined || k === null || k === false)
                continue;
            el.appendChild(typeof k === "string" || typeof k === "number" ? document.createTextNode(String(k)) : k);
        }
        return el;
    }

    function replace(el, ...kids) {
        el.textContent = "";
        return append(el, kids);
    }

    let uniq = 0;
    const nextId = prefix => prefix + "-" + (++uniq);

    function when(t) {
        if (t === null || t === undefined)
            return _("never");
        if (t === -1)
            return _("until an administrator unlocks");
        return new Date(t * 1000).toLocaleString();
    }

    /* "Last changed <date> (N days ago)": the password's age */
    function changedText(t) {
        const days = Math.max(0, Math.floor((Date.now() / 1000 - t) / 86400));
        return format(_("Last changed $0 ($1)"), when(t),
                      days === 0 ? _("today") : format(cockpit.ngettext("$0 day ago", "$0 days ago", days), days));
    }

    function spinner(text) {
        return h("div", { class: "acctsec-loading" },
                 h("span", { class: "pf-c-spinner pf-m-md", role: "progressbar", "aria-valuetext": _("Loading...") }),
                 h("span", { text: text || _("Loading...") }));
    }

    function alert(kind, title, text) {
        const icon = { danger: "!", success: "\u2713", info: "i", warning: "!" }[kind];
        return h("div", { class: "pf-c-alert pf-m-inline pf-m-" + kind, role: kind === "danger" ? "alert" : "status" },
                 h("div", { class: "pf-c-alert__icon", "aria-hidden": "true", text: icon }),
                 h("p", { class: "pf-c-alert__title", text: title }),
                 text ? h("div", { class: "pf-c-alert__description" }, h("p", { text })) : null);
    }

    function button(label, onclick, variant, attrs) {
        return h("button", Object.assign({ type: "button", class: "pf-c-button pf-m-" + (variant || "secondary"), onclick },
                                         attrs || {}), label);
    }

    /* A button that shows a spinner and is disabled while the call runs. */
    function busy(btn, promise) {
        btn.disabled = true;
        btn.classList.add("pf-m-progress", "pf-m-in-progress");
        const spin = h("span", { class: "pf-c-button__progress" },
                       h("span", { class: "pf-c-spinner pf-m-md", role: "progressbar", "aria-valuetext": _("Working...") }));
        btn.prepend(spin);
        const done = () => {
            btn.disabled = false;
            btn.classList.remove("pf-m-progress", "pf-m-in-progress");
            spin.remove();
        };
        promise.then(done, done);
        return promise;
    }

    function input(attrs) {
        return h("input", Object.assign({ class: "pf-c-form-control", type: "text" }, attrs));
    }

    function field(label, control, helper) {
        const id = control.id || (control.id = nextId("acctsec-field"));
        return h("div", { class: "pf-c-form__group" },
                 h("div", { class: "pf-c-form__group-label" },
                   h("label", { class: "pf-c-form__label", for: id }, h("span", { class: "pf-c-form__label-text", text: label }))),
                 h("div", { class: "pf-c-form__group-control" }, control,
                   helper ? h("p", { class: "pf-c-form__helper-text", text: helper }) : null));
    }

    /* A form: Enter in any field submits it; onsubmit(form, button) returns a promise. */
    function form(attrs, fields, submitLabel, onsubmit, extraButtons) {
        const submit = h("button", { type: "submit", class: "pf-c-button pf-m-primary" }, submitLabel);
        const f = h("form", Object.assign({ class: "pf-c-form acctsec-form", novalidate: true }, attrs), fields,
                    h("div", { class: "pf-c-form__group pf-m-action" },
                      h("div", { class: "pf-c-form__actions" }, submit, extraButtons || null)));
        f.addEventListener("submit", ev => {
            ev.preventDefault();
            if (!submit.disabled)
                busy(submit, Promise.resolve().then(() => onsubmit(f, submit))).catch(() => {});
        });
        return f;
    }

    function table(label, columns, rows, empty) {
        if (!rows.length)
            return h("p", { class: "acctsec-empty", text: empty });
        return h("table", { class: "pf-c-table pf-m-compact pf-m-grid-md", role: "grid", "aria-label": label },
                 h("thead", {}, h("tr", {}, columns.map(c => h("th", { scope: "col", text: c })))),
                 h("tbody", {}, rows.map(r => h("tr", r.attrs || {}, r.cells.map((c, i) =>
                     h("td", { "data-label": columns[i] }, c))))));
    }

    function dl(pairs) {
        return h("dl", { class: "pf-c-description-list pf-m-horizontal" },
                 pairs.filter(Boolean).map(([term, value, attrs]) =>
                     h("div", Object.assign({ class: "pf-c-description-list__group" }, attrs || {}),
                       h("dt", { class: "pf-c-description-list__term" }, h("span", { class: "pf-c-description-list__text", text: term })),
                       h("dd", { class: "pf-c-description-list__description" }, h("div", { class: "pf-c-description-list__text" }, value)))));
    }

    function card(title, attrs, ...body) {
        return h("article", Object.assign({ class: "pf-c-card acctsec-card" }, attrs || {}),
                 h("div", { class: "pf-c-card__title" }, h("h2", { class: "pf-c-title pf-m-lg", text: title })),
                 h("div", { class: "pf-c-card__body" }, body));
    }

    function label(text, color) {
        return h("span", { class: "pf-c-label pf-m-" + (color || "grey") },
                 h("span", { class: "pf-c-label__content", text }));
    }

    /* The page's messages, above the tab's content: they outlive the
     * tab's redrawing after an action, and a new tab clears them. */
    function notices() {
        const box = document.getElementById("acctsec-notices");
        box.ok = text => replace(box, alert("success", text));
        box.fail = err => replace(box, alert("danger", _("That did not work"), err.message || String(err)));
        box.clear = () => replace(box);
        return box;
    }

    /* --- the acctsec command -------------------------------------------- */

    /* What a spawned acctsec --json prints when it ends: its JSON document,
     * or an Error carrying the command's own message ({"error": ...}). */
    function result(proc) {
        return new Promise((resolve, reject) => {
            proc.then(out => {
                try {
                    resolve(out.trim() ? JSON.parse(out) : {});
                } catch (e) {
                    reject(new Error(_("acctsec printed something that is not JSON")));
                }
            }, (ex, out) => reject(commandError(ex, out)));
        });
    }

    /* Run acctsec --json ARGS (opts.admin: with administrative access;
     * opts.input: its standard input). */
    function acctsec(args, opts) {
        opts = opts || {};
        const spawnOpts = { err: "message" };
        if (opts.admin)
            spawnOpts.superuser = "try";
        const proc = cockpit.spawn(["acctsec", "--json"].concat(args), spawnOpts);
        if (opts.input !== undefined)
            proc.input(opts.input);
        return result(proc);
    }

    function commandError(ex, out) {
        try {
            const j = JSON.parse(out);
            if (j && j.error)
                return new Error(j.error);
        } catch (e) { /* not JSON: the spawn itself failed */ }
        if (ex && ex.problem === "not-found")
            return new Error(_("The acctsec command is not installed on this machine."));
        if (ex && ex.problem === "access-denied")
            return new Error(_("Not permitted to perform this action."));
        return new Error((ex && (ex.message || ex.problem)) || _("acctsec failed"));
    }

    /* acctsec log export: its text, not JSON. */
    function exportLog(args, opts) {
        const spawnOpts = { err: "message" };
        if (opts && opts.admin)
            spawnOpts.superuser = "try";
        return new Promise((resolve, reject) => {
            cockpit.spawn(["acctsec", "log", "export"].concat(args), spawnOpts)
                    .then(resolve, (ex, out) => reject(commandError(ex, out)));
        });
    }

    /* --- state ----------------------------------------------------------- */

    const state = {
        status: null, /* acctsec status */
        superuser: false, /* administrative access on */
    };

    function isAdmin() {
        return state.superuser || (state.status && (state.status.role === "admin" || state.status.role === "auditor"));
    }

    /* --- tabs ------------------------------------------------------------- */

    const tabs = [
        { id: "overview", label: _("Overview"), render: renderOverview },
        { id: "password", label: _("Password"), render: renderPassword },
        { id: "two-factor", label: _("Two-factor"), render: renderTwoFactor },
        { id: "tokens", label: _("API tokens"), render: renderTokens },
        { id: "sessions", label: _("Sessions"), render: renderSessions },
        { id: "log", label: _("Security log"), render: renderLog },
        { id: "notifications", label: _("Notifications"), render: renderNotifications },
        { id: "admin", label: _("Administration"), render: renderAdmin, admin: true },
    ];
    let current = "overview";

    function drawTabs() {
        const list = document.getElementById("acctsec-tab-list");
        replace(list, tabs.filter(t => !t.admin || isAdmin()).map(t =>
            h("li", { class: "pf-c-tabs__item" + (t.id === current ? " pf-m-current" : ""), role: "presentation" },
              h("button", {
                  class: "pf-c-tabs__link", role: "tab", id: "acctsec-tab-" + t.id, "aria-selected": String(t.id === current),
                  "aria-controls": "acctsec-body", onclick: () => go(t.id),
              }, h("span", { class: "pf-c-tabs__item-text", text: t.label })))));
    }

    /* Each visit of a tab renders into a view of its own: a slow answer
     * for a tab left meanwhile lands in a view no longer shown. */
    let generation = 0;

    function go(id) {
        const tab = tabs.find(t => t.id === id && (!t.admin || isAdmin())) || tabs[0];
        current = tab.id;
        if (cockpit.location.path[0] !== tab.id)
            cockpit.location.go([tab.id]);
        drawTabs();
        notices().clear();
        const body = document.getElementById("acctsec-body");
        const view = h("div", { class: "acctsec-view" }, spinner());
        const mine = ++generation;
        body.setAttribute("data-tab", tab.id);
        body.setAttribute("aria-busy", "true");
        replace(body, view);
        Promise.resolve().then(() => tab.render(view)).catch(err => {
            replace(view, alert("danger", _("This section cannot be shown"), err.message || String(err)));
        }).then(() => {
            if (mine === generation)
                body.removeAttribute("aria-busy");
        });
    }

    function refreshStatus() {
        return acctsec(["status"]).then(s => {
            state.status = s;
            replace(document.getElementById("acctsec-who"),
                    format(_("Signed in as $0 ($1)"), s.user, s.role === "admin" ? _("administrator")
                        : s.role === "auditor" ? _("auditor") : _("user")));
            return s;
        });
    }

    /* --- Overview ---------------------------------------------------------- */

    function factorText(s) {
        const on = [];
        if (s.totp === "active")
            on.push(_("authenticator app"));
        if (s.email_codes)
            on.push(_("emailed codes"));
        if (s.sms_codes)
            on.push(_("texted codes"));
        return on.length ? on.join(", ") : _("none");
    }

    function renderOverview(body) {
        return refreshStatus().then(s => {
            const locked = s.locked ? label(format(_("Locked until $0"), when(s.locked_until)), "red")
                : label(_("Not locked"), "green");
            replace(body, h("div", { class: "acctsec-grid" },
                card(_("Your account"), { id: "acctsec-status" }, dl([
                    [_("User"), s.user],
                    [_("Account"), s.disabled ? label(format(_("Disabled by $0 on $1"), s.disabled_by || "?", when(s.disabled_since)), "red")
                        : label(_("Enabled"), "green"), { id: "acctsec-status-account" }],
                    [_("Lock"), locked, { id: "acctsec-status-lock" }],
                    [_("Failed logins"), format(_("$0 (locked at $1)"), s.failures, s.deny)],
                    [_("Last failed login"), when(s.last_failure)],
                    [_("Password"), s.password_change_required ? label(_("Must be changed at the next login"), "orange")
                        : s.password_changed ? changedText(s.password_changed)
                            : _("No change recorded")],
                    [_("Second factor"), factorText(s), { id: "acctsec-status-factor" }],
                    [_("Second-factor policy"), s.mfa_policy],
                    [_("Login notifications"), s.new_source_mails ? _("On") : _("Off")],
                ])),
                card(_("What you can do here"), {}, h("ul", { class: "acctsec-list" },
                    h("li", {}, _("Change your password, within the rules shown before you type.")),
                    h("li", {}, _("Set up an authenticator app, emailed or texted codes, and backup codes.")),
                    h("li", {}, _("Create API tokens for scripts, and revoke them.")),
                    h("li", {}, _("See your sessions and sign out the ones you do not recognise.")),
                    h("li", {}, _("Read and export your security log."))))));
        });
    }

    /* --- Password --------------------------------------------------------- */

    /* passwd(1) on a terminal: the current password, then the new one twice.
     * A prompt for a new password after both answers means the stack refused
     * it: passwd is stopped there and its messages are the error. */
    function passwdChange(oldPassword, newPassword) {
        return new Promise((resolve, reject) => {
            const proc = cockpit.spawn(["passwd"], { pty: true, environ: ["LC_ALL=C"], err: "out" });
            let pending = "", all = "", answers = 0, refused = false;
            proc.stream(chunk => {
                pending += chunk;
                all += chunk;
                const last = pending.split("\n").pop();
                if (!/password: *$/i.test(last))
                    return;
                pending = "";
                if (/current|old/i.test(last)) {
                    proc.input(oldPassword + "\n", true);
                } else if (answers < 2) {
                    answers++;
                    proc.input(newPassword + "\n", true);
                } else {
                    refused = true;
                    proc.close("terminated");
                }
            });
            const why = () => all.split(/\r?\n/).map(l => l.trim())
                    .filter(l => l && !/password: *$/i.test(l) && !/^Changing password for/i.test(l)).join(" ");
            proc.then(() => resolve(), ex => {
                const text = why();
                reject(new Error(text || (refused ? _("The new password was refused.") : ex.message)));
            });
        });
    }

    function renderPassword(body) {
        return refreshStatus().then(s => {
            const box = notices();
            const current = input({ type: "password", autocomplete: "current-password", id: "acctsec-password-current" });
            const fresh = input({ type: "password", autocomplete: "new-password", id: "acctsec-password-new" });
            const again = input({ type: "password", autocomplete: "new-password", id: "acctsec-password-again" });
            const rules = s.password_rules || _("The system's password rules apply.");
            const changeForm = form({ id: "acctsec-password-form" }, [
                field(_("Current password"), current),
                field(_("New password"), fresh),
                field(_("New password again"), again),
            ], _("Change password"), () => {
                box.clear();
                if (!fresh.value || fresh.value !== again.value)
                    return box.fail(new Error(_("The new passwords do not match."))), Promise.resolve();
                return passwdChange(current.value, fresh.value).then(() => {
                    current.value = fresh.value = again.value = "";
                    box.ok(_("Your password was changed."));
                }, err => box.fail(err));
            });
            replace(body, card(_("Change your password"), { id: "acctsec-password" },
                h("div", { class: "acctsec-rules", id: "acctsec-password-rules" },
                  h("h3", { class: "pf-c-title pf-m-md", text: _("Password rules") }), h("p", { text: rules })),
                s.password_self_change === false
                    ? alert("info", _("Passwords are changed by an administrator"), _("Ask one to reset your password."))
                    : changeForm));
        });
    }

    /* --- Two-factor ------------------------------------------------------- */

    function qrSvg(rows) {
        const n = rows.length, quiet = 4, size = n + 2 * quiet;
        let path = "";
        rows.forEach((row, y) => {
            for (let x = 0; x < row.length; x++)
                if (row[x] === "1")
                    path += "M" + (x + quiet) + "," + (y + quiet) + "h1v1h-1z";
        });
        const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
        svg.setAttribute("viewBox", "0 0 " + size + " " + size);
        svg.setAttribute("class", "acctsec-qr");
        svg.setAttribute("role", "img");
        svg.setAttribute("aria-label", _("QR code for your authenticator app"));
        svg.innerHTML = '<rect width="100%" height="100%" fill="#fff"/><path fill="#000" d="' + path + '"/>';
        return svg;
    }

    function codeList(codes, id) {
        const text = codes.join("\n");
        return h("div", { class: "acctsec-codes", id },
                 h("p", {}, _("Keep these backup codes somewhere safe: each works once, in place of a code from your app. They are shown only now.")),
                 h("ol", { class: "acctsec-code-list" }, codes.map(c => h("li", {}, h("code", { text: c })))),
                 button(_("Copy codes"), () => navigator.clipboard && navigator.clipboard.writeText(text)),
                 " ",
                 button(_("Download codes"), () => download("acctsec-backup-codes.txt", "text/plain", text + "\n")));
    }

    function renderTwoFactor(body) {
        return acctsec(["mfa", "status"]).then(m => {
            const box = notices();
            const again = () => renderTwoFactor(body);
            const parts = [];

            /* The authenticator app */
            const totpBody = h("div", { id: "acctsec-totp" });
            if (m.totp === "active") {
                append(totpBody, h("p", {}, label(_("Active"), "green"), " ",
                                   format(_("$0 backup codes left."), m.backup_codes_left)),
                       h("div", { class: "acctsec-actions" },
                         button(_("New backup codes"), ev => busy(ev.currentTarget, acctsec(["backup-codes", "generate"]).then(r => {
                             box.ok(_("New backup codes made; the old ones no longer work."));
                             replace(totpBody, codeList(r.backup_codes || [], "acctsec-backup-codes"),
                                     button(_("Done"), again, "primary"));
                         }, err => box.fail(err))), "secondary", { id: "acctsec-backup-generate" })));
            } else {
                append(totpBody, h("p", {}, m.totp === "pending" ? _("An enrolment waits for its first code.")
                    : _("Use an app such as FreeOTP, Aegis or Google Authenticator: it shows a new code every 30 seconds.")),
                       button(_("Set up an authenticator app"), ev => busy(ev.currentTarget, acctsec(["mfa", "enroll", "totp"]).then(e => {
                           const code = input({ inputmode: "numeric", autocomplete: "one-time-code", id: "acctsec-totp-code", maxlength: "8" });
                           replace(totpBody,
                                   h("div", { class: "acctsec-enrol" },
                                     e.qr ? qrSvg(e.qr) : null,
                                     h("div", {},
                                       h("p", {}, _("Scan the QR code with your app, or type this key into it:")),
                                       h("p", {}, h("code", { class: "acctsec-secret", id: "acctsec-totp-secret", text: e.secret })),
                                       form({ id: "acctsec-totp-form" }, [field(_("The code your app shows"), code)], _("Confirm"), () =>
                                           acctsec(["mfa", "confirm", code.value.trim()]).then(r => {
                                               box.ok(_("The authenticator app is set up."));
                                               replace(totpBody, codeList(r.backup_codes || [], "acctsec-backup-codes"),
                                                       button(_("Done"), again, "primary"));
                                           }, err => box.fail(err))))));
                           code.focus();
                       }, err => box.fail(err))), "primary", { id: "acctsec-totp-enrol" }));
            }
            parts.push(card(_("Authenticator app"), {}, totpBody));

            /* Codes by mail or text message */
            parts.push(card(_("Emailed codes"), { id: "acctsec-email" }, codeChannel(box, again, {
                kind: "email", verified: m.email, pending: m.email_pending, on: m.email_codes,
                setLabel: _("Mail address"), inputType: "email",
                verifyHelp: _("Type the code just mailed to you."), enrol: ["mfa", "enroll", "email"],
            })));
            parts.push(card(_("Texted codes"), { id: "acctsec-phone" }, codeChannel(box, again, {
                kind: "phone", verified: m.phone, pending: m.phone_pending, on: m.sms_codes,
                setLabel: _("Phone number (+CCNNNN)"), inputType: "tel",
                verifyHelp: _("Type the code just texted to you."), enrol: ["mfa", "enroll", "sms"],
            })));

            if (m.totp === "active" || m.email_codes || m.sms_codes)
                parts.push(card(_("Turn the second factor off"), { id: "acctsec-disable" }, disableForm(box, again, m)));
            replace(body, h("p", { class: "acctsec-policy" }, format(_("Second-factor policy for you: $0."), m.policy)),
                    h("div", { class: "acctsec-grid" }, parts));
        });
    }

    /* An address or number: set it, confirm it with the code sent there, use it for login codes. */
    function codeChannel(box, again, o) {
        const value = input({ type: o.inputType, id: "acctsec-" + o.kind + "-value" });
        const setForm = form({ id: "acctsec-" + o.kind + "-set" }, [field(o.setLabel, value)], _("Send a code"), () =>
            acctsec([o.kind, "set", value.value.trim()]).then(() => again(), err => box.fail(err)));
        const out = h("div", {});
        if (o.verified)
            append(out, h("p", {}, format(_("Verified: $0"), o.verified), " ",
                          o.on ? label(_("Used for login codes"), "green") : null));
        if (o.pending) {
            const code = input({ inputmode: "numeric", autocomplete: "one-time-code", id: "acctsec-" + o.kind + "-code" });
            append(out, h("p", {}, format(_("Waiting for confirmation: $0"), o.pending)),
                   form({ id: "acctsec-" + o.kind + "-verify" }, [field(_("Code"), code, o.verifyHelp)], _("Confirm"), () =>
                       acctsec([o.kind, "verify", code.value.trim()]).then(() => again(), err => box.fail(err))));
        }
        if (o.verified && !o.on)
            append(out, h("div", { class: "acctsec-actions" },
                          button(_("Use for login codes"), ev => busy(ev.currentTarget, acctsec(o.enrol).then(() => again(),
                              err => box.fail(err))), "primary", { id: "acctsec-" + o.kind + "-enrol" })));
        append(out, setForm);
        return out;
    }

    /* acctsec mfa disable reads the password, then (without an app) asks for
     * a code it has just sent: the command waits on its input meanwhile. */
    function disableForm(box, again, m) {
        const password = input({ type: "password", autocomplete: "current-password", id: "acctsec-disable-password" });
        const code = input({ inputmode: "numeric", autocomplete: "one-time-code", id: "acctsec-disable-code" });
        const withApp = m.totp === "active";
        const out = h("div", {});
        const done = ended => ended.then(() => { box.ok(_("The second factor is off.")); return again() },
                                         err => box.fail(err));
        return append(out,
            h("p", {}, _("This removes your authenticator app, backup codes and login codes. Your password and a current code are needed.")),
            form({ id: "acctsec-disable-form" }, [field(_("Password"), password),
                withApp ? field(_("Code from your app, or a backup code"), code) : null],
            withApp ? _("Turn off") : _("Send me a code"), () => {
                if (withApp)
                    return done(acctsec(["mfa", "disable"], { input: password.value + "\n" + code.value.trim() + "\n" }));
                const proc = cockpit.spawn(["acctsec", "--json", "mfa", "disable"], { err: "message" });
                proc.input(password.value + "\n", true);
                password.value = "";
                const ended = result(proc);
                ended.catch(err => box.fail(err)); /* no code could be sent */
                replace(out, form({ id: "acctsec-disable-code-form" },
                                  [field(_("The code just sent to you"), code)], _("Turn off"), () => {
                                      proc.input(code.value.trim() + "\n");
                                      return done(ended);
                                  }));
                code.focus();
            }));
    }

    /* --- API tokens -------------------------------------------------------- */

    function tokenSection(box, user, admin, rerender) {
        const args = user ? ["--user", user] : [];
        const opts = { admin };
        return acctsec(["token", "list"].concat(args), opts).then(list => {
            const name = input({ id: "acctsec-token-name", maxlength: "64", placeholder: "backup-script" });
            const months = h("select", { class: "pf-c-form-control", id: "acctsec-token-expires" },
                             [1, 3, 6, 12, 24].map(n => h("option", { value: String(n), selected: n === 3 },
                                                           format(cockpit.ngettext("$0 month", "$0 months", n), n))));
            const services = input({ id: "acctsec-token-services", value: "sshd" });
            const shown = h("div", { id: "acctsec-token-shown" });
            const createForm = form({ id: "acctsec-token-form" }, [
                field(_("Name"), name),
                field(_("Expires in"), months),
                field(_("PAM services"), services, _("Comma-separated: where the token works as the password, e.g. sshd,sudo")),
            ], _("Create token"), () =>
                acctsec(["token", "create", "--name", name.value.trim(), "--expires", months.value,
                    "--services", services.value.replace(/\s+/g, "")].concat(args), opts).then(t => {
                    const value = input({ readonly: true, value: t.token, id: "acctsec-token-value", class: "pf-c-form-control acctsec-secret" });
                    replace(shown, h("div", { class: "pf-c-alert pf-m-inline pf-m-success", role: "status" },
                        h("p", { class: "pf-c-alert__title", text: format(_("Token $0 created: copy it now, it is shown only once."), t.name) }),
                        h("div", { class: "pf-c-alert__description" },
                          h("div", { class: "pf-c-clipboard-copy" },
                            h("div", { class: "pf-c-clipboard-copy__group" }, value,
                              button(_("Copy"), () => { value.select(); navigator.clipboard && navigator.clipboard.writeText(t.token) },
                                     "control", { "aria-label": _("Copy the token") }))))));
                    return rerender(shown);
                }, err => box.fail(err)));
            const rows = (Array.isArray(list) ? list : list.tokens || []).map(t => ({
                attrs: { "data-token": t.name },
                cells: [t.name, t.services, when(t.created), when(t.last_used), when(t.expires),
                    button(_("Revoke"), ev => busy(ev.currentTarget, acctsec(["token", "revoke", t.name].concat(args), opts)
                            .then(() => { box.ok(format(_("Token $0 revoked."), t.name)); return rerender() }, err => box.fail(err))),
                           "danger", { "aria-label": format(_("Revoke $0"), t.name) })],
            }));
            return [shown, table(_("API tokens"), [_("Name"), _("Services"), _("Created"), _("Last used"), _("Expires"), ""],
                                 rows, _("No API tokens.")),
                    h("h3", { class: "pf-c-title pf-m-md", text: _("New token") }), createForm];
        });
    }

    function renderTokens(body, keep) {
        const box = notices();
        return tokenSection(box, null, false, shown => renderTokens(body, shown)).then(parts => {
            if (keep)
                parts[0] = keep;
            replace(body, card(_("API tokens"), { id: "acctsec-tokens" },
                h("p", {}, _("A token works in place of your password for the services it names, until it expires or you revoke it.")),
                parts));
        });
    }

    /* --- Sessions and devices --------------------------------------------- */

    function renderSessions(body) {
        const box = notices();
        return Promise.all([acctsec(["session", "list"]), acctsec(["device", "list"])]).then(([s, d]) => {
            const again = () => renderSessions(body);
            const sessions = s.sessions || [];
            const rows = sessions.map(x => ({
                attrs: { "data-session": String(x.id), class: x.current ? "acctsec-current" : null },
                cells: [[String(x.id), x.current ? [" ", label(_("This session"), "blue")] : null],
                    x.service || "-", x.rhost || x.tty || "-", [x.city, x.country].filter(Boolean).join(", ") || "-",
                    x.host || "-", when(x.started),
                    x.current ? "" : button(_("Sign out"), ev => busy(ev.currentTarget, acctsec(["session", "terminate", String(x.id)])
                            .then(() => { box.ok(_("The session was ended.")); return again() }, err => box.fail(err))),
                    "secondary", { "aria-label": format(_("Sign out session $0"), x.id) })],
            }));
            const devices = (d.devices || []).map(x => ({
                attrs: { "data-device": String(x.id) },
                cells: [x.kind === "key" ? _("SSH key") : _("Address"), x.device, when(x.last_used), when(x.expires),
                    button(_("Forget"), ev => busy(ev.currentTarget, acctsec(["device", "revoke", String(x.id)])
                            .then(() => { box.ok(_("The device will be asked for a code again.")); return again() }, err => box.fail(err))),
                    "secondary", { "aria-label": format(_("Forget device $0"), x.device) })],
            }));
            replace(body,
                card(_("Active sessions"), { id: "acctsec-sessions" },
                     table(_("Active sessions"), [_("Session"), _("Service"), _("From"), _("Location"), _("Host"), _("Started"), ""],
                           rows, _("No active sessions are recorded.")),
                     h("div", { class: "acctsec-actions" },
                       button(_("Sign out all other sessions"), ev => busy(ev.currentTarget, acctsec(["session", "terminate", "--all-others"])
                               .then(r => { box.ok(format(_("$0 sessions ended; remembered devices forgotten."), r.terminated || 0)); return again() },
                                     err => box.fail(err))), "danger", { id: "acctsec-sessions-end-others" }))),
                card(_("Remembered devices"), { id: "acctsec-devices" },
                     h("p", {}, _("A device you chose to remember is not asked for a code until it expires.")),
                     table(_("Remembered devices"), [_("Kind"), _("Device"), _("Last used"), _("Expires"), ""], devices,
                           _("No remembered devices."))));
        });
    }

    /* --- Security log -------------------------------------------------------- */

    /* doc/security-log.md's event types, for the filter */
    const eventTypes = [
        "auth_success", "auth_failure", "lockout", "unlock", "login_denied", "mfa_enrolled", "mfa_reset",
        "code_used", "code_refused", "backup_codes_generated", "code_sent", "code_send_failed", "email_set",
        "email_verified", "mfa_disabled", "mfa_required", "account_disabled", "account_enabled", "password_expired",
        "password_changed", "password_reset", "token_created", "token_used", "token_refused", "token_revoked",
        "allowlist_added", "allowlist_removed", "session_opened", "session_closed", "session_terminated",
        "new_source_login", "new_location_login", "notifications_changed", "request_refused", "log_exported",
        "password_recovered", "phone_set", "phone_verified", "mail_capped", "fleet_key_rotated", "mfa_skipped",
        "device_remembered", "device_revoked"
    ];

    function download(name, type, text) {
        const a = h("a", { href: URL.createObjectURL(new Blob([text], { type })), download: name, class: "acctsec-hidden" });
        document.body.appendChild(a);
        a.click();
        setTimeout(() => { URL.revokeObjectURL(a.href); a.remove() }, 0);
    }

    function logFilters(admin) {
        const type = h("select", { class: "pf-c-form-control", id: "acctsec-log-type" },
                       h("option", { value: "" }, _("Any event")), eventTypes.map(t => h("option", { value: t, text: t })));
        const since = input({ type: "date", id: "acctsec-log-since" });
        const user = admin ? input({ id: "acctsec-log-user", placeholder: _("everyone") }) : null;
        const args = () => {
            const a = [];
            if (admin)
                a.push.apply(a, user.value.trim() ? ["--user", user.value.trim()] : ["--all"]);
            if (type.value)
                a.push("--type", type.value);
            if (since.value)
                a.push("--since", since.value);
            return a;
        };
        return { type, since, user, args };
    }

    function logSection(admin) {
        const box = notices();
        const f = logFilters(admin);
        const out = h("div", { id: "acctsec-log-table" });
        const load = () => acctsec(["log", "show", "--limit", "100"].concat(f.args()), { admin }).then(r => {
            replace(out, table(_("Security log"), [_("Time"), _("Event"), _("User"), _("Service"), _("From"), _("Detail")],
                (r.events || []).map(e => ({
                    attrs: { "data-event": e.type, class: "acctsec-outcome-" + e.outcome },
                    cells: [when(e.unix_time), e.type, e.user, e.service || "-", e.rhost || e.tty || "-",
                        [e.detail, e.actor ? format(_("(by $0)"), e.actor) : null].filter(Boolean).join(" ")],
                })), _("No events match.")));
        }, err => box.fail(err));
        const exportAs = fmt => ev => busy(ev.currentTarget, exportLog(["--format", fmt].concat(f.args()), { admin }).then(text =>
            download("acctsec-security-log." + fmt, fmt === "csv" ? "text/csv" : "application/json", text), err => box.fail(err)));
        const filterForm = form({ id: "acctsec-log-filter", class: "pf-c-form acctsec-filters" },
            [admin ? field(_("User"), f.user) : null, field(_("Event"), f.type), field(_("Since"), f.since)],
            _("Show"), () => { box.clear(); return load() },
            [button(_("Export JSON"), exportAs("json"), "secondary", { id: "acctsec-log-export-json" }),
                button(_("Export CSV"), exportAs("csv"), "secondary", { id: "acctsec-log-export-csv" })]);
        return load().then(() => [filterForm, out]);
    }

    function renderLog(body) {
        return logSection(false).then(parts => replace(body, card(_("Security log"), { id: "acctsec-log" },
            h("p", {}, _("The newest events of your account: logins, codes, changes. Export writes every matching event, oldest first.")),
            parts)));
    }

    /* --- Notifications ------------------------------------------------------- */

    function renderNotifications(body) {
        return acctsec(["notify", "status"]).then(n => {
            const box = notices();
            const on = !!n.new_source_mails;
            const toggle = h("input", { class: "pf-c-switch__input", type: "checkbox", id: "acctsec-notify-switch", checked: on });
            toggle.addEventListener("change", () => {
                toggle.disabled = true;
                acctsec(["notify", toggle.checked ? "on" : "off"]).then(() => renderNotifications(body),
                    err => { toggle.checked = on; toggle.disabled = false; box.fail(err) });
            });
            replace(body, card(_("Login notifications"), { id: "acctsec-notify" },
                h("label", { class: "pf-c-switch", for: "acctsec-notify-switch" }, toggle,
                  h("span", { class: "pf-c-switch__toggle" }),
                  h("span", { class: "pf-c-switch__label", "aria-hidden": "true", text: _("Mail me when I log in from a new place") })),
                h("p", { class: "acctsec-state", id: "acctsec-notify-state", text: n.state })));
        });
    }

    /* --- Administration ------------------------------------------------------- */

    function factorLabels(u) {
        const l = [];
        if (u.totp === "active")
            l.push(label(_("App"), "green"));
        if (u.email_codes)
            l.push(label(_("Email"), "green"));
        if (u.sms_codes)
            l.push(label(_("SMS"), "green"));
        if (!l.length)
            l.push(label(u.mfa_policy === "required" ? _("None (required)") : _("None"), u.mfa_policy === "required" ? "orange" : "grey"));
        return l.map((x, i) => i ? [" ", x] : x);
    }

    function renderAdmin(body) {
        const box = notices();
        const detail = h("div", { id: "acctsec-admin-detail" });
        const admin = { admin: true };
        const usersCard = h("div", {});
        const loadUsers = () => acctsec(["user", "list"], admin).then(r => {
            replace(usersCard, table(_("Users"), [_("User"), _("Lock"), _("Account"), _("Second factor"), _("Last login")],
                (r.users || []).map(u => ({
                    attrs: { "data-user": u.user },
                    cells: [button(u.user, () => showUser(u.user), "link", { class: "pf-c-button pf-m-link pf-m-inline" }),
                        u.locked ? label(_("Locked"), "red") : label(_("Not locked"), "green"),
                        u.disabled ? label(_("Disabled"), "red") : u.password_change_required ? label(_("Must change password"), "orange")
                            : label(_("Enabled"), "green"),
                        factorLabels(u),
                        u.last_login ? [when(u.last_login), u.last_login_from ? format(_(" from $0"), u.last_login_from) : ""] : _("never")],
                })), _("No users.")));
        });

        /* An action on the user shown; the list and the card are redrawn
         * after it (aria-busy on the card until they are). */
        function act(args, done) {
            return ev => {
                detail.setAttribute("aria-busy", "true");
                busy(ev.currentTarget, acctsec(args, admin).then(r => {
                    box.ok(typeof done === "function" ? done(r) : done);
                    return Promise.all([loadUsers(), showUser(args[args.indexOf("--user") + 1], true)]);
                }, err => box.fail(err))).then(() => detail.removeAttribute("aria-busy"));
            };
        }

        function showUser(name, keepNotice) {
            if (!keepNotice)
                box.clear();
            return acctsec(["status", "--user", name], admin).then(s => {
                const tokens = h("div", {});
                const allow = h("div", {});
                const reloadTokens = shown => tokenSection(box, name, true, reloadTokens).then(parts => {
                    if (shown)
                        parts[0] = shown;
                    replace(tokens, parts);
                });
                const cidr = input({ id: "acctsec-admin-allow-cidr", placeholder: "192.0.2.0/24" });
                const reloadAllow = () => allowlistSection(box, ["--user", name], allow, cidr);
                replace(detail, card(format(_("User $0"), name), { id: "acctsec-admin-user", "data-user": name },
                    dl([
                        [_("Lock"), s.locked ? format(_("Locked until $0 ($1 failures)"), when(s.locked_until), s.failures)
                            : format(_("Not locked ($0 failures)"), s.failures)],
                        [_("Account"), s.disabled ? format(_("Disabled by $0 on $1"), s.disabled_by || "?", when(s.disabled_since)) : _("Enabled")],
                        [_("Password"), s.password_change_required ? _("Must be changed at the next login")
                            : s.password_changed ? changedText(s.password_changed) : _("No change recorded")],
                        [_("Second factor"), [factorText(s), " (", s.mfa_policy, ")"]],
                    ]),
                    h("div", { class: "acctsec-actions", id: "acctsec-admin-actions" },
                      s.locked ? button(_("Unlock"), act(["lockout", "reset", "--user", name], _("Unlocked.")), "primary", { id: "acctsec-admin-unlock" }) : null,
                      s.disabled ? button(_("Enable"), act(["account", "enable", "--user", name], _("The account is enabled.")), "secondary", { id: "acctsec-admin-enable" })
                          : button(_("Disable"), act(["account", "disable", "--user", name], _("The account is disabled: every login is refused.")), "danger", { id: "acctsec-admin-disable" }),
                      button(_("Force password change"), act(["account", "expire-password", "--user", name], _("The password must be changed at the next login.")),
                             "secondary", { id: "acctsec-admin-expire" }),
                      button(_("Reset password"), act(["account", "reset-password", "--user", name], r =>
                          format(_("Temporary password for $0: $1 (shown once; it must be changed at the next login)"), name, r.password)),
                             "secondary", { id: "acctsec-admin-reset-password" }),
                      s.mfa_policy === "required"
                          ? button(_("Stop requiring a second factor"), act(["mfa", "require", "--off", "--user", name], _("A second factor is no longer required.")),
                                   "secondary", { id: "acctsec-admin-require-off" })
                          : button(_("Require a second factor"), act(["mfa", "require", "--user", name], _("A second factor is now required.")),
                                   "secondary", { id: "acctsec-admin-require" }),
                      button(_("Reset second factor"), act(["mfa", "reset", "--user", name], _("The second factor was removed.")),
                             "danger", { id: "acctsec-admin-mfa-reset" })),
                    h("h3", { class: "pf-c-title pf-m-md", text: _("API tokens") }), tokens,
                    h("h3", { class: "pf-c-title pf-m-md", text: _("Allowlist") }), allow));
                return Promise.all([reloadTokens(), reloadAllow()]);
            }, err => box.fail(err));
        }

        return Promise.all([loadUsers(), acctsec(["fleet", "hosts"], admin).catch(() => null)]).then(([, fleet]) => {
            const globalAllow = h("div", {});
            const globalCidr = input({ id: "acctsec-admin-global-cidr", placeholder: "192.0.2.0/24" });
            const cards = [
                card(_("Users"), { id: "acctsec-admin-users" }, usersCard),
                detail,
                fleet && fleet.fleet ? card(_("Fleet hosts"), { id: "acctsec-admin-fleet" },
                    h("p", {}, _("The hosts that share this fleet's database, and when each was last seen.")),
                    table(_("Fleet hosts"), [_("Host"), _("Last seen"), _("Active sessions")],
                          (fleet.hosts || []).map(x => ({ attrs: { "data-host": x.host }, cells: [x.host, when(x.last_seen), String(x.sessions || 0)] })),
                          _("No hosts yet."))) : null,
                card(_("Global allowlist"), { id: "acctsec-admin-global-allowlist" },
                     h("p", {}, _("Logins of every user are allowed only from these addresses (empty: from anywhere).")), globalAllow),
                h("div", { id: "acctsec-admin-log" }),
            ];
            replace(body, state.superuser ? null : alert("info", _("Administrative access is off"),
                _("Actions run as you: acctsecd allows them only if you are in its admin group. Turn on administrative access for the rest.")),
            cards);
            return Promise.all([allowlistSection(box, [], globalAllow, globalCidr),
                logSection(true).then(parts => replace(document.getElementById("acctsec-admin-log"),
                    card(_("Everyone's security log"), {}, parts)))]);
        });
    }

    function allowlistSection(box, args, into, cidr) {
        const admin = { admin: true };
        const reload = () => allowlistSection(box, args, into, cidr);
        return acctsec(["allowlist", "list"].concat(args), admin).then(r => {
            const rows = (r.entries || []).map(e => ({
                attrs: { "data-cidr": e.cidr },
                cells: [e.cidr, e.added_by || "-", when(e.added),
                    button(_("Remove"), ev => busy(ev.currentTarget, acctsec(["allowlist", "remove", e.cidr].concat(args), admin)
                            .then(reload, err => box.fail(err))), "secondary", { "aria-label": format(_("Remove $0"), e.cidr) })],
            }));
            cidr.value = "";
            replace(into, r.config ? h("p", {}, format(_("From the configuration file: $0"), r.config)) : null,
                table(_("Allowlist"), [_("Address or range"), _("Added by"), _("Added"), ""], rows, _("No entries: no restriction.")),
                form({ class: "pf-c-form acctsec-inline" }, [field(_("Add an address or range"), cidr)], _("Add"), () =>
                    acctsec(["allowlist", "add", cidr.value.trim()].concat(args), admin).then(reload, err => box.fail(err))));
        });
    }

    /* --- start --------------------------------------------------------------- */

    function start() {
        cockpit.translate();
        const permission = cockpit.permission({ admin: true });
        /* Administrative access as the page knows it (also on the page's
         * root, data-superuser, for scripts that drive the page). */
        const update = () => {
            const was = state.superuser;
            state.superuser = !!permission.allowed;
            document.getElementById("acctsec-page").toggleAttribute("data-superuser", state.superuser);
            return was !== state.superuser;
        };
        permission.addEventListener("changed", () => {
            if (!update() || !state.status)
                return;
            drawTabs();
            if (current === "admin")
                go("admin");
        });
        refreshStatus().then(() => {
            update();
            go(cockpit.location.path[0] || "overview");
        }, err => {
            replace(document.getElementById("acctsec-body"),
                    alert("danger", _("acctsecd cannot be reached"), err.message));
        });
        cockpit.addEventListener("locationchanged", () => {
            const want = cockpit.location.path[0] || "overview";
            if (want !== current)
                go(want);
        });
    }

    document.addEventListener("DOMContentLoaded", start);
}());
