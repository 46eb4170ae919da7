using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Mvc;
using Qianbao.Server.Consoles.Shared;

namespace Qianbao.Server.Consoles.Wallet;

/// <summary>
/// <c>/wallet/inbox</c>: the notifications (<c>GET /v1/notifications</c>), the unread count, marking read, and live
/// updates: <c>/wallet/inbox/stream</c> relays the API's Server-Sent Events (<c>GET /v1/notifications/stream</c>) with
/// the cookie's token, because a browser's EventSource cannot send a bearer header. console.js adds each pushed item to
/// the list.
/// </summary>
public sealed class InboxModel : WalletPage
{
    public IReadOnlyList<JsonElement> Items { get; private set; } = [];
    public long Unread { get; private set; }

    public async Task<IActionResult> OnGetAsync(CancellationToken ct)
    {
        if (SignedOut() is { } login) return login;
        var (answer, gone) = await LoadAsync("/v1/notifications?limit=50", ct);
        if (gone is not null) return gone;
        Items = [.. answer.Items()];
        Unread = answer.Number("unread_count");
        return Page();
    }

    public async Task<IActionResult> OnPostReadAsync(string? id, CancellationToken ct)
    {
        if (SignedOut() is { } login) return login;
        var answer = await Api.PostAsync($"/v1/notifications/{Uri.EscapeDataString(id ?? "")}/read", null, Token, ct);
        if (!answer.Ok && Failed(answer)) return Redirect("/wallet/login");
        return answer.Ok ? Redirect("/wallet/inbox") : await OnGetAsync(ct);
    }

    public async Task<IActionResult> OnPostReadAllAsync(CancellationToken ct)
    {
        if (SignedOut() is { } login) return login;
        var answer = await Api.PostAsync("/v1/notifications/read-all", null, Token, ct);
        if (!answer.Ok && Failed(answer)) return Redirect("/wallet/login");
        return Redirect("/wallet/inbox");
    }

    /// <summary>The relay: the API's event stream, byte for byte, until either side goes away.</summary>
    public async Task<IActionResult> OnGetStreamAsync()
    {
        if (Token is null) return Unauthorized();
        var ct = HttpContext.RequestAborted;
        var address = HttpContext.RequestServices.GetRequiredService<ConsoleApiAddress>();
        var factory = HttpContext.RequestServices.GetRequiredService<IHttpClientFactory>();
        // A client of its own: the console's API client has a timeout, and a stream is open for as long as the page.
        using var http = factory.CreateClient("wallet-stream");
        http.Timeout = Timeout.InfiniteTimeSpan;
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(address.Value, "v1/notifications/stream"));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Token);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        if (Request.Headers["Last-Event-ID"].ToString() is { Length: > 0 } last) request.Headers.TryAddWithoutValidation("Last-Event-ID", last);
        if (HttpContext.Connection.RemoteIpAddress is { } ip) request.Headers.TryAddWithoutValidation("X-Forwarded-For", ip.ToString());
        HttpResponseMessage upstream;
        try
        {
            upstream = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException)
        {
            return StatusCode(StatusCodes.Status503ServiceUnavailable);
        }
        using (upstream)
        {
            if (!upstream.IsSuccessStatusCode) return StatusCode((int)upstream.StatusCode);
            Response.ContentType = "text/event-stream";
            Response.Headers.CacheControl = "no-store";
            HttpContext.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
            await Response.Body.FlushAsync(ct);
            try
            {
                await using var body = await upstream.Content.ReadAsStreamAsync(ct);
                var buffer = new byte[4096];
                int read;
                while ((read = await body.ReadAsync(buffer, ct)) > 0)
                {
                    await Response.Body.WriteAsync(buffer.AsMemory(0, read), ct);
                    await Response.Body.FlushAsync(ct);
                }
            }
            catch (Exception e) when (e is OperationCanceledException or IOException or HttpRequestException)
            {
                // The page went away, or the server is stopping: the browser reconnects with Last-Event-ID.
            }
            return new EmptyResult();
        }
    }
}
