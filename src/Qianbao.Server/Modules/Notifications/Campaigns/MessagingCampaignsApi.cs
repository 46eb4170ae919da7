using System.Text.Json;
using Dapper;
using Qianbao.Server.Hosting;
using Qianbao.Server.Http;
using Qianbao.Server.Modules.Operators;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Notifications.Campaigns;

/// <summary>
/// <c>POST /admin/v1/messaging/campaigns</c> → 201 the campaign (draft); <c>GET /admin/v1/messaging/campaigns/{id}</c>;
/// <c>POST /admin/v1/messaging/campaigns/{id}/start</c> → <c>{audience, holdout, scheduled}</c>: materialises the members
/// (segment selected now, variant by hash) and sends at once when <c>send_at</c> is absent or past; a later
/// <c>send_at</c> is sent by <see cref="CampaignScheduler"/>, and <c>scheduled</c> then counts the messages planned (the
/// decisions of consent and caps are made when sending). <c>POST /admin/v1/messaging/segments/preview {segment}</c> →
/// <c>{count}</c>. Owner and Support run messaging.
/// </summary>
internal static class MessagingCampaignsApi
{
    public const int NameLengthMax = 200;
    public const int HoldoutBpsMax = 9_000;

    public sealed record CreateRequest(string? Name, Segment? Segment, IReadOnlyList<string>? Channels, IReadOnlyList<Variant>? Variants, int? HoldoutBps,
        DateTimeOffset? SendAt, Conversion? Conversion);

    public sealed record PreviewRequest(Segment? Segment);

    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapPost("/admin/v1/messaging/campaigns", CreateAsync).RequireOperator(OperatorRole.Owner, OperatorRole.Support).WithTags("Operator");
        app.MapGet("/admin/v1/messaging/campaigns/{id}", GetAsync).RequireOperator(OperatorRole.Owner, OperatorRole.Support).WithTags("Operator");
        app.MapPost("/admin/v1/messaging/campaigns/{id}/start", StartAsync).RequireOperator(OperatorRole.Owner, OperatorRole.Support).WithTags("Operator");
        app.MapPost("/admin/v1/messaging/segments/preview", PreviewAsync).RequireOperator(OperatorRole.Owner, OperatorRole.Support).WithTags("Operator");
    }

    private static async Task<IResult> CreateAsync(HttpContext http, Db db, TimeProvider clock, CancellationToken ct)
    {
        var (request, _, problem) = await RequestBody.ReadJsonAsync<CreateRequest>(http.Request, ct);
        if (problem is not null) return problem;
        var r = request!;
        if (r.Name is not { Length: > 0 and <= NameLengthMax } name || string.IsNullOrWhiteSpace(name))
            return ApiProblem.BadRequest(ErrorCodes.InvalidMessagingCampaign, $"name must be 1..{NameLengthMax} characters.");
        if (r.HoldoutBps is < 0 or > HoldoutBpsMax)
            return ApiProblem.BadRequest(ErrorCodes.InvalidMessagingCampaign, $"holdout_bps must be 0..{HoldoutBpsMax}.");
        var segment = r.Segment ?? new Segment();
        if (CampaignDefinition.ValidateSegment(segment) is { } bad) return bad;
        if (CampaignDefinition.Validate(r.Channels, r.Variants, r.Conversion) is { } invalid) return invalid;
        if (CampaignPersonalisation.Validate(r.Variants!) is { } badText) return badText;

        var definition = new CampaignDefinition(segment, r.Channels!, r.Variants!, r.Conversion!);
        var nowUs = clock.GetUnixMicroseconds();
        var row = new CampaignRow
        {
            id = Guid.CreateVersion7(clock.GetUtcNow()), name = name, definition = JsonSerializer.Serialize(definition, JsonDefaults.Options),
            holdout_bps = r.HoldoutBps ?? 0, send_at_us = r.SendAt?.ToUnixMicroseconds(), status = (short)CampaignState.Draft, created_at_us = nowUs,
        };
        await using var connection = await db.OpenAsync(ct);
        await connection.ExecuteAsync(new CommandDefinition("""
            INSERT INTO messaging_campaigns (id, name, definition, holdout_bps, send_at_us, status, created_at_us)
            VALUES (@id, @name, @definition, @holdout_bps, @send_at_us, @status, @created_at_us)
            """, new { row.id, row.name, row.definition, row.holdout_bps, row.send_at_us, row.status, row.created_at_us }, cancellationToken: ct));
        return Results.Json(row.Body(), JsonDefaults.Options, statusCode: StatusCodes.Status201Created);
    }

    private static async Task<IResult> GetAsync(string id, CampaignStore store, CancellationToken ct) =>
        Guid.TryParse(id, out var campaignId) && await store.FindAsync(campaignId, ct) is { } row
            ? Results.Json(row.Body(), JsonDefaults.Options)
            : ApiProblem.NotFound("No such messaging campaign.");

    private static async Task<IResult> StartAsync(string id, CampaignStore store, CampaignSender sender, CampaignWakeUp wakeUp, CancellationToken ct)
    {
        if (!Guid.TryParse(id, out var campaignId) || await store.FindAsync(campaignId, ct) is not { } row)
            return ApiProblem.NotFound("No such messaging campaign.");
        if (row.State != CampaignState.Draft)
            return ApiProblem.Conflict(ErrorCodes.CampaignAlreadyStarted, "The campaign was started already.");
        var started = await sender.MaterialiseAsync(row, ct);
        if (started is null) return ApiProblem.Conflict(ErrorCodes.CampaignAlreadyStarted, "The campaign was started already.");
        // The send runs in the background (the scheduler, woken now): a large audience does not hold the request.
        wakeUp.Wake();
        var counts = started.Value;
        return Results.Json(new { audience = counts.Audience, holdout = counts.Holdout, scheduled = counts.Scheduled }, JsonDefaults.Options,
            statusCode: StatusCodes.Status202Accepted);
    }

    private static async Task<IResult> PreviewAsync(HttpContext http, CampaignAudience audience, CancellationToken ct)
    {
        var (request, _, problem) = await RequestBody.ReadJsonAsync<PreviewRequest>(http.Request, ct);
        if (problem is not null) return problem;
        var segment = request!.Segment ?? new Segment();
        if (CampaignDefinition.ValidateSegment(segment) is { } bad) return bad;
        return Results.Json(new { count = (await audience.SelectAsync(segment, ct)).Count }, JsonDefaults.Options);
    }
}
