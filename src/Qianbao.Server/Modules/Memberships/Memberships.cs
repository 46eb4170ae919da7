using System.Text.Json;
using Dapper;
using Qianbao.Ledger;
using Qianbao.Server.Hosting;
using Qianbao.Server.Http;
using Qianbao.Server.Modules.Points;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Memberships;

/// <summary>
/// One level of a programme. <paramref name="MinSpend12MonthsFen"/> is the 12-month spend at the merchant from which a
/// member holds it (the first level's is 0, each next one higher); <paramref name="PointsMultiplierBps"/> multiplies the
/// points a payment at that merchant earns (10000 = ×1).
/// </summary>
internal sealed record MembershipLevel(string Level, string Name, string Description, long MinSpend12MonthsFen, int PointsMultiplierBps);

internal sealed class MembershipTemplateRow
{
    public const string Columns = "id, merchant_id, request_id, card_type, name, levels, created_at_us";

    public Guid id { get; init; }
    public Guid merchant_id { get; init; }
    public string request_id { get; init; } = "";
    public string card_type { get; init; } = "";
    public string name { get; init; } = "";
    public string levels { get; init; } = "[]";
    public long created_at_us { get; init; }

    public IReadOnlyList<MembershipLevel> Levels => JsonSerializer.Deserialize<MembershipLevel[]>(levels, JsonDefaults.Options)!;
}

internal sealed class MembershipCardRow
{
    public const string Columns = "biz_card_no, template_id, merchant_id, user_id, out_serial_no, opened_at_us";

    public string biz_card_no { get; init; } = "";
    public Guid template_id { get; init; }
    public Guid merchant_id { get; init; }
    public Guid user_id { get; init; }
    public string? out_serial_no { get; init; }
    public long opened_at_us { get; init; }
}

/// <summary>A card as read now: its level follows the member's spend at the merchant over the last 12 months.</summary>
internal sealed record MembershipStanding(MembershipCardRow Card, MembershipTemplateRow Template, MembershipLevel Level, long Spend12MonthsFen, long Points);

internal enum TemplateOutcome : byte
{
    Created,
    Replayed,

    /// <summary>The request_id created a different programme before.</summary>
    RequestIdReused,
}

/// <summary>
/// Member programmes of merchants (Modules/Memberships owns <c>membership_templates</c>, <c>membership_cards</c> and
/// <c>membership_spend</c>): programmes and their levels, cards (one per user and programme; opening again answers the same
/// card), and a member's standing — the level their 12-month spend at the merchant reaches, and the points they earned there.
/// </summary>
internal sealed class Memberships(Db db, PointsStore points, TimeProvider clock)
{
    public const int ListMax = 200;

    /// <summary>The 12 months a level looks back over.</summary>
    public static readonly TimeSpan SpendWindow = TimeSpan.FromDays(365);

    public static Guid TemplateIdFor(Guid merchantId, string requestId) => StableId.From("membership-template", $"{merchantId:N}/{requestId}");

    /// <summary>A card number: 20 digits derived from the programme and the user, so opening twice gives the same card.</summary>
    public static string CardNoFor(Guid templateId, Guid userId)
    {
        var bytes = StableId.From("membership-card", $"{templateId:N}/{userId:N}").ToByteArray();
        var n = BitConverter.ToUInt64(bytes, 0) % 100_000_000_000_000_000UL;
        return "88" + n.ToString("D18", System.Globalization.CultureInfo.InvariantCulture);
    }

    public async Task<(TemplateOutcome Outcome, Guid TemplateId)> CreateTemplateAsync(Guid merchantId, string requestId, string cardType, string name,
        IReadOnlyList<MembershipLevel> levels, CancellationToken ct)
    {
        var id = TemplateIdFor(merchantId, requestId);
        var row = new MembershipTemplateRow
        {
            id = id, merchant_id = merchantId, request_id = requestId, card_type = cardType, name = name,
            levels = JsonSerializer.Serialize(levels, JsonDefaults.Options), created_at_us = clock.GetUnixMicroseconds(),
        };
        await using var connection = await db.OpenAsync(ct);
        var inserted = await connection.ExecuteAsync(new CommandDefinition($"""
            INSERT INTO membership_templates ({MembershipTemplateRow.Columns}) VALUES (@id, @merchant_id, @request_id, @card_type, @name, @levels, @created_at_us)
            ON CONFLICT (id) DO NOTHING
            """, new { row.id, row.merchant_id, row.request_id, row.card_type, row.name, row.levels, row.created_at_us }, cancellationToken: ct));
        if (inserted == 1) return (TemplateOutcome.Created, id);
        var earlier = (await FindTemplateAsync(id, ct))!;
        return (earlier.name == row.name && earlier.card_type == row.card_type && earlier.levels == row.levels ? TemplateOutcome.Replayed : TemplateOutcome.RequestIdReused, id);
    }

    public async Task<MembershipTemplateRow?> FindTemplateAsync(Guid id, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        return await connection.QuerySingleOrDefaultAsync<MembershipTemplateRow>(new CommandDefinition(
            $"SELECT {MembershipTemplateRow.Columns} FROM membership_templates WHERE id = @id", new { id }, cancellationToken: ct));
    }

    public async Task<IReadOnlyList<MembershipTemplateRow>> ListTemplatesAsync(CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        return (await connection.QueryAsync<MembershipTemplateRow>(new CommandDefinition(
            $"SELECT {MembershipTemplateRow.Columns} FROM membership_templates ORDER BY created_at_us DESC, id LIMIT {ListMax}", cancellationToken: ct))).AsList();
    }

    /// <summary>The programmes of <paramref name="merchantId"/>, oldest first (at most <see cref="ListMax"/>).</summary>
    public async Task<IReadOnlyList<MembershipTemplateRow>> TemplatesOfAsync(Guid merchantId, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        return (await connection.QueryAsync<MembershipTemplateRow>(new CommandDefinition(
            $"SELECT {MembershipTemplateRow.Columns} FROM membership_templates WHERE merchant_id = @merchantId ORDER BY created_at_us, id LIMIT {ListMax}",
            new { merchantId }, cancellationToken: ct))).AsList();
    }

    /// <summary>
    /// The cards of <paramref name="merchantId"/>'s programmes, newest first, after the card (<paramref name="afterUs"/>,
    /// <paramref name="afterCardNo"/>) when given, at most <paramref name="take"/>.
    /// </summary>
    public async Task<IReadOnlyList<MembershipCardRow>> CardsAtAsync(Guid merchantId, (long OpenedUs, string CardNo)? after, int take, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        var afterClause = after is null ? "" : "AND (opened_at_us < @afterUs OR (opened_at_us = @afterUs AND biz_card_no < @afterNo))";
        return (await connection.QueryAsync<MembershipCardRow>(new CommandDefinition($"""
            SELECT {MembershipCardRow.Columns} FROM membership_cards WHERE merchant_id = @merchantId {afterClause}
            ORDER BY opened_at_us DESC, biz_card_no DESC LIMIT @take
            """, new { merchantId, afterUs = after?.OpenedUs ?? 0, afterNo = after?.CardNo ?? "", take }, cancellationToken: ct))).AsList();
    }

    public async Task<IReadOnlyList<MembershipCardRow>> CardsOfAsync(Guid userId, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        return (await connection.QueryAsync<MembershipCardRow>(new CommandDefinition(
            $"SELECT {MembershipCardRow.Columns} FROM membership_cards WHERE user_id = @userId ORDER BY opened_at_us, biz_card_no LIMIT {ListMax}",
            new { userId }, cancellationToken: ct))).AsList();
    }

    /// <summary>The (user, merchant) pairs among <paramref name="userIds"/> where the user holds a card (one read for a batch of payments).</summary>
    public async Task<HashSet<(Guid UserId, Guid MerchantId)>> CardHoldersAsync(IReadOnlyCollection<Guid> userIds, CancellationToken ct)
    {
        if (userIds.Count == 0) return [];
        var (condition, ids) = db.IdIn("user_id", userIds);
        await using var connection = await db.OpenAsync(ct);
        return (await connection.QueryAsync<(Guid, Guid)>(new CommandDefinition(
            $"SELECT DISTINCT user_id, merchant_id FROM membership_cards WHERE {condition}", new { ids }, cancellationToken: ct))).ToHashSet();
    }

    /// <summary>Opens the user's card of the programme, or finds the one already open (a unique row per programme and user).</summary>
    public async Task<MembershipCardRow> OpenAsync(MembershipTemplateRow template, Guid userId, string? outSerialNo, CancellationToken ct)
    {
        var card = new MembershipCardRow
        {
            biz_card_no = CardNoFor(template.id, userId), template_id = template.id, merchant_id = template.merchant_id, user_id = userId,
            out_serial_no = outSerialNo, opened_at_us = clock.GetUnixMicroseconds(),
        };
        await using var connection = await db.OpenAsync(ct);
        await connection.ExecuteAsync(new CommandDefinition($"""
            INSERT INTO membership_cards ({MembershipCardRow.Columns}) VALUES (@biz_card_no, @template_id, @merchant_id, @user_id, @out_serial_no, @opened_at_us)
            ON CONFLICT DO NOTHING
            """, card, cancellationToken: ct));
        return await connection.QuerySingleAsync<MembershipCardRow>(new CommandDefinition(
            $"SELECT {MembershipCardRow.Columns} FROM membership_cards WHERE template_id = @template_id AND user_id = @user_id", card, cancellationToken: ct));
    }

    public async Task<MembershipCardRow?> FindCardAsync(string bizCardNo, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        return await connection.QuerySingleOrDefaultAsync<MembershipCardRow>(new CommandDefinition(
            $"SELECT {MembershipCardRow.Columns} FROM membership_cards WHERE biz_card_no = @bizCardNo", new { bizCardNo }, cancellationToken: ct));
    }

    public async Task<MembershipCardRow?> FindCardAsync(Guid templateId, Guid userId, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        return await connection.QuerySingleOrDefaultAsync<MembershipCardRow>(new CommandDefinition(
            $"SELECT {MembershipCardRow.Columns} FROM membership_cards WHERE template_id = @templateId AND user_id = @userId", new { templateId, userId },
            cancellationToken: ct));
    }

    /// <summary>What <paramref name="userId"/> spent at <paramref name="merchantId"/> (payments less refunds) in the 12 months before <paramref name="beforeUs"/>.</summary>
    public async Task<long> Spend12MonthsAsync(Guid merchantId, Guid userId, long beforeUs, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        var sinceUs = beforeUs - (long)SpendWindow.TotalMicroseconds;
        return await connection.ExecuteScalarAsync<long?>(new CommandDefinition("""
            SELECT sum(amount) FROM membership_spend
            WHERE merchant_id = @merchantId AND user_id = @userId AND currency = 'CNY' AND at_us >= @sinceUs AND at_us < @beforeUs
            """, new { merchantId, userId, sinceUs, beforeUs }, cancellationToken: ct)) ?? 0;
    }

    /// <summary>Every trade the user paid at the merchant (for the points earned there).</summary>
    private async Task<IReadOnlyList<string>> TradesAtAsync(Guid merchantId, Guid userId, CancellationToken ct)
    {
        await using var connection = await db.OpenAsync(ct);
        return (await connection.QueryAsync<string>(new CommandDefinition(
            "SELECT DISTINCT trade_no FROM membership_spend WHERE merchant_id = @merchantId AND user_id = @userId AND amount > 0",
            new { merchantId, userId }, cancellationToken: ct))).AsList();
    }

    /// <summary>The highest level whose threshold the spend reaches (the first level's is 0, so there is always one).</summary>
    public static MembershipLevel LevelFor(IReadOnlyList<MembershipLevel> levels, long spendFen) =>
        levels.Last(l => l.MinSpend12MonthsFen <= spendFen);

    public async Task<MembershipStanding> StandingAsync(MembershipCardRow card, MembershipTemplateRow template, CancellationToken ct)
    {
        var spend = Math.Max(0, await Spend12MonthsAsync(card.merchant_id, card.user_id, clock.GetUnixMicroseconds() + 1, ct));
        var earned = await points.NetEarnedForTradesAsync(await TradesAtAsync(card.merchant_id, card.user_id, ct), ct);
        return new MembershipStanding(card, template, LevelFor(template.Levels, spend), spend, earned);
    }

    /// <summary>
    /// The member level's points multiplier for a payment at <paramref name="merchantId"/> (10000 when the user holds no card
    /// there): the level their spend reached before this payment. A user holding cards of several programmes of one
    /// merchant gets the best multiplier.
    /// </summary>
    public async Task<int> MultiplierBpsAsync(Guid userId, Guid merchantId, long paidAtUs, CancellationToken ct)
    {
        var best = 10_000;
        foreach (var card in (await CardsOfAsync(userId, ct)).Where(c => c.merchant_id == merchantId))
        {
            if (await FindTemplateAsync(card.template_id, ct) is not { } template) continue;
            var spend = await Spend12MonthsAsync(merchantId, userId, paidAtUs, ct);
            best = Math.Max(best, LevelFor(template.Levels, spend).PointsMultiplierBps);
        }
        return best;
    }
}
