using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.Playwright;
using Qianbao.Server.Tests.Operators;

namespace Qianbao.Server.Tests.Consoles.Operator;

/// <summary>An operator invited by the bootstrap owner and enrolled (invitation accepted), not yet logged in: the browser logs in.</summary>
public sealed record ConsoleOperator(Guid Id, string Email, string TotpSecret, string Role);

/// <summary>What the operator console tests set up through the API (as another operator would) and how they sign in through the pages.</summary>
public static class OperatorConsoleSupport
{
    public static HttpClient Owner(ConsoleBrowser browser)
    {
        var http = browser.Server.CreateClient();
        http.DefaultRequestHeaders.Authorization = new("Bearer", ConsoleBrowser.OperatorKey);
        return http;
    }

    public static async Task<ConsoleOperator> EnrolAsync(ConsoleBrowser browser, string role)
    {
        using var http = browser.Server.CreateClient();
        var email = OperatorSupport.NewEmail(role);
        var invited = await OperatorSupport.SendAsync(http, HttpMethod.Post, "/admin/v1/operators", ConsoleBrowser.OperatorKey,
            new { email, name = "Console " + role, role }).JsonAsync(HttpStatusCode.Created);
        var secret = await OperatorSupport.AcceptAsync(http, invited["invitation_token"]!.GetValue<string>(), OperatorSupport.Password);
        return new ConsoleOperator(invited["id"]!.GetValue<Guid>(), email, secret, role);
    }

    /// <summary>Signs in through the login page with e-mail, password and the authenticator's current code.</summary>
    public static async Task LoginAsync(IPage page, ConsoleOperator op, DateTimeOffset? at = null)
    {
        await page.GotoAsync("/operator/login");
        var form = page.Locator("#login-form");
        await form.Locator("input[name=email]").FillAsync(op.Email);
        await form.Locator("input[name=password]").FillAsync(OperatorSupport.Password);
        await form.Locator("input[name=totp]").FillAsync(OperatorSupport.Code(op.TotpSecret, at ?? DateTimeOffset.UtcNow));
        await SubmitAsync(form.Locator("button[type=submit]"));
        await page.WaitForURLAsync(url => !url.Contains("/operator/login", StringComparison.Ordinal));
    }

    public static async Task LoginWithKeyAsync(IPage page, string key = ConsoleBrowser.OperatorKey)
    {
        await page.GotoAsync("/operator/login");
        var form = page.Locator("#key-form");
        await form.Locator("input[name=key]").FillAsync(key);
        await SubmitAsync(form.Locator("button[type=submit]"));
        await page.WaitForLoadStateAsync();
    }

    /// <summary>Clicks what submits a form or follows a link, and waits for the page it leads to.</summary>
    public static async Task SubmitAsync(ILocator target)
    {
        // The current document is marked, then the page's own answer is awaited (a redirect is followed to the page it leads to),
        // then a parsed document without the mark. A lifecycle wait (DOMContentLoaded) once hung for 15 s on a loaded CI
        // machine after the answer had arrived (stop 20); polling the document itself does not depend on that event.
        var page = target.Page;
        await page.EvaluateAsync("() => { window.qianbaoLeaving = true; }");
        await page.RunAndWaitForResponseAsync(() => target.ClickAsync(),
            r => r.Request.IsNavigationRequest && r.Status is < 300 or >= 400);
        await page.WaitForFunctionAsync("() => window.qianbaoLeaving === undefined && document.readyState !== 'loading'");
    }

    /// <summary>The error the page shows (the API's refusal in the page's language), or null.</summary>
    public static async Task<(string Code, string Message)?> ErrorAsync(IPage page)
    {
        var error = page.Locator("main p.error");
        if (await error.CountAsync() == 0) return null;
        return ((await error.GetAttributeAsync("data-code"))!, await error.InnerTextAsync());
    }

    public static async Task<JsonObject> PostAsync(HttpClient owner, string path, object body, HttpStatusCode expected)
    {
        var response = await owner.PostAsJsonAsync(path, body);
        var text = await response.Content.ReadAsStringAsync();
        response.StatusCode.ShouldBe(expected, text);
        return JsonNode.Parse(text)!.AsObject();
    }
}
