using System.Text.Json;
using Microsoft.AspNetCore.Mvc;
using Qianbao.Server.Consoles.Shared;

namespace Qianbao.Server.Consoles.Operator;

/// <summary>
/// <c>/operator/complaints?status=&amp;id=</c> (support): complaints (<c>GET /admin/v1/complaints</c>); with <c>id</c> one
/// of them with its replies, a reply (<c>POST .../replies {text}</c>) and the resolution (<c>POST .../resolve {decision,
/// amount?, note}</c>: a refund goes through the API's refund path).
/// </summary>
public sealed class OperatorComplaintsModel : OperatorPage
{
    [BindProperty(SupportsGet = true)]
    public string? Status { get; set; }

    [BindProperty(SupportsGet = true)]
    public string? Id { get; set; }

    public IReadOnlyList<JsonElement> Complaints { get; private set; } = [];

    public JsonElement Complaint { get; private set; }

    public static readonly string[] Statuses = ["open", "in_progress", "refunded", "rejected"];

    private string Path => "/operator/complaints?id=" + Uri.EscapeDataString(Id ?? "");

    private string ApiPath => "/admin/v1/complaints/" + Uri.EscapeDataString(Id ?? "");

    public async Task<IActionResult> OnGetAsync(CancellationToken ct)
    {
        if (SignedOut() is { } login) return login;
        ShowDone();
        return await ShowAsync(ct);
    }

    public Task<IActionResult> OnPostReplyAsync(string? text, CancellationToken ct) =>
        ActAsync(() => Api.PostAsync(ApiPath + "/replies", new { text }, Token, ct), ct);

    public Task<IActionResult> OnPostResolveAsync(string? decision, string? amount, string? note, CancellationToken ct) =>
        ActAsync(() => Api.PostAsync(ApiPath + "/resolve",
            new { decision, amount = string.IsNullOrWhiteSpace(amount) ? null : AmountMinor(amount), note }, Token, ct), ct);

    private async Task<IActionResult> ActAsync(Func<Task<ApiAnswer>> act, CancellationToken ct)
    {
        if (SignedOut() is { } login) return login;
        var answer = await act();
        if (answer.Ok) return Done(Path);
        if (Refused(answer) is { } gone) return gone;
        var (code, message) = (ErrorCode, ErrorMessage);
        var shown = await ShowAsync(ct);
        (ErrorCode, ErrorMessage) = (code, message);
        return shown;
    }

    private async Task<IActionResult> ShowAsync(CancellationToken ct)
    {
        if (!string.IsNullOrEmpty(Id))
        {
            var one = await ReadAsync(ApiPath, ct);
            if (one is null) return SessionEnded ? ToLogin() : Page();
            Complaint = one.Value.Body;
            return Page();
        }
        var answer = await ReadAsync("/admin/v1/complaints" + (string.IsNullOrEmpty(Status) ? "" : "?status=" + Uri.EscapeDataString(Status)), ct);
        if (answer is null) return SessionEnded ? ToLogin() : Page();
        Complaints = answer.Value.Items().ToList();
        return Page();
    }
}
