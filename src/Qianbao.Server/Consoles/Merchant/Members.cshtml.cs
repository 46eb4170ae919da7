using Microsoft.AspNetCore.Mvc;
using Qianbao.Server.Consoles.Shared;

namespace Qianbao.Server.Consoles.Merchant;

/// <summary>
/// <c>/merchant/members?cursor=</c>: the shop's member programme and its levels (<c>GET /merchant/v1/member-programme</c>) and
/// its members page by page (<c>GET /merchant/v1/members</c>): masked name, level, spend over the last 12 months.
/// </summary>
public sealed class MembersModel : MerchantPage
{
    public const int PageSize = 50;

    [BindProperty(SupportsGet = true)] public string? Cursor { get; set; }

    public sealed record LevelLine(string Level, string Name, string Description, long MinSpend, int MultiplierBps);

    public sealed record ProgrammeView(string TemplateId, string Name, IReadOnlyList<LevelLine> Levels);

    public sealed record MemberLine(string CardNo, string Name, string Level, string LevelName, long Spend12Months, string OpenedAt);

    public IReadOnlyList<ProgrammeView> Programmes { get; private set; } = [];

    public IReadOnlyList<MemberLine> Members { get; private set; } = [];

    public string? NextCursor { get; private set; }

    public async Task<IActionResult> OnGetAsync(CancellationToken ct)
    {
        if (SignedOut() is { } login) return login;
        var (programme, relogin) = await GetOrLoginAsync("/merchant/v1/member-programme", ct);
        if (relogin is not null) return relogin;
        if (!programme.Ok) return Page();
        Programmes = programme.Items().Select(p => new ProgrammeView(p.GetProperty("template_id").GetString() ?? "", p.GetProperty("name").GetString() ?? "",
            p.GetProperty("levels").EnumerateArray().Select(l => new LevelLine(l.GetProperty("level").GetString() ?? "", l.GetProperty("name").GetString() ?? "",
                l.GetProperty("description").GetString() ?? "", l.GetProperty("min_spend_12m").GetInt64(), l.GetProperty("points_multiplier_bps").GetInt32())).ToList()))
            .ToList();
        var path = $"/merchant/v1/members?limit={PageSize}" + (string.IsNullOrEmpty(Cursor) ? "" : "&cursor=" + Uri.EscapeDataString(Cursor));
        var (members, relogin2) = await GetOrLoginAsync(path, ct);
        if (relogin2 is not null) return relogin2;
        if (!members.Ok) return Page();
        Members = members.Items().Select(m => new MemberLine(m.GetProperty("biz_card_no").GetString() ?? "", m.GetProperty("name").GetString() ?? "",
            m.GetProperty("level").ToString(), m.GetProperty("level_name").ToString(), m.GetProperty("spend_12m").GetInt64(),
            m.GetProperty("opened_at").ToString())).ToList();
        NextCursor = members.Text("next_cursor") is { Length: > 0 } next ? next : null;
        return Page();
    }
}
