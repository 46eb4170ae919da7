using Qianbao.Server.Hosting;
using Qianbao.Server.Http;
using Qianbao.Server.Modules.Identity;

namespace Qianbao.Server.Modules.Memberships;

/// <summary>How a programme and a member's card are shown to users.</summary>
internal static class MembershipBodies
{
    public static object Level(MembershipLevel l) => new
    {
        level = l.Level, name = l.Name, description = l.Description, min_spend_12m = l.MinSpend12MonthsFen, points_multiplier_bps = l.PointsMultiplierBps,
    };

    public static object Card(MembershipStanding s) => new
    {
        biz_card_no = s.Card.biz_card_no, level = s.Level.Level, level_name = s.Level.Name, spend_12m = s.Spend12MonthsFen, points = s.Points,
        opened_at = TimeProviderExtensions.FromUnixMicroseconds(s.Card.opened_at_us),
    };

    public static object Programme(MembershipTemplateRow t, MembershipStanding? mine) => new
    {
        template_id = t.id.ToString("N"), merchant_id = t.merchant_id, name = t.name, card_type = t.card_type,
        levels = t.Levels.Select(Level).ToArray(), joined = mine is not null, card = mine is null ? null : Card(mine),
    };
}

/// <summary>
/// <c>GET /v1/memberships</c> (user) → <c>{items:[{template_id, merchant_id, name, levels, joined, card}]}</c>: the newest
/// programmes (at most 200) with the user's card where they hold one (level, 12-month spend and points at that merchant).
/// </summary>
internal static class ListMemberships
{
    public static void Map(IEndpointRouteBuilder app) => app.MapGet("/v1/memberships", HandleAsync).RequireUser().WithTags("Memberships");

    private static async Task<IResult> HandleAsync(HttpContext http, Memberships memberships, CancellationToken ct)
    {
        var userId = http.UserId();
        var cards = (await memberships.CardsOfAsync(userId, ct)).ToDictionary(c => c.template_id);
        var items = new List<object>();
        foreach (var template in await memberships.ListTemplatesAsync(ct))
        {
            var mine = cards.TryGetValue(template.id, out var card) ? await memberships.StandingAsync(card, template, ct) : null;
            items.Add(MembershipBodies.Programme(template, mine));
        }
        return Results.Json(new { items }, JsonDefaults.Options);
    }
}

/// <summary>
/// <c>POST /v1/memberships {template_id}</c> (user) → 201 the programme with the user's new card; joining again answers the
/// same card (200). 400 <c>invalid_template_id</c>; 404 for no programme of that id. No money moves.
/// </summary>
internal static class JoinMembership
{
    public sealed record Request(string? TemplateId);

    public static void Map(IEndpointRouteBuilder app) => app.MapPost("/v1/memberships", HandleAsync).RequireUser().WithTags("Memberships");

    private static async Task<IResult> HandleAsync(HttpContext http, Memberships memberships, CancellationToken ct)
    {
        var (request, _, problem) = await RequestBody.ReadJsonAsync<Request>(http.Request, ct);
        if (problem is not null) return problem;
        if (!Guid.TryParse(request!.TemplateId, out var templateId))
            return ApiProblem.BadRequest(ErrorCodes.InvalidTemplateId, "template_id must be a membership programme's id.");
        if (await memberships.FindTemplateAsync(templateId, ct) is not { } template) return ApiProblem.NotFound("No membership programme with this id.");
        var userId = http.UserId();
        var existed = await memberships.FindCardAsync(templateId, userId, ct) is not null;
        var card = await memberships.OpenAsync(template, userId, null, ct);
        var body = MembershipBodies.Programme(template, await memberships.StandingAsync(card, template, ct));
        return Results.Json(body, JsonDefaults.Options, statusCode: existed ? StatusCodes.Status200OK : StatusCodes.Status201Created);
    }
}
