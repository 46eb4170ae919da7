using Dapper;
using Qianbao.Server.Hosting;
using Qianbao.Server.Http;
using Qianbao.Server.Modules.Marketing;
using Qianbao.Server.Modules.Operators;
using Qianbao.Server.Storage;

namespace Qianbao.Server.Modules.Notifications.Campaigns;

/// <summary>
/// <c>GET /admin/v1/messaging/campaigns/{id}/results</c> → <c>{variants:[{key, recipients, delivered, opened, clicked,
/// converted, open_rate, click_rate, conversion_rate, capped, held, opted_out, withdrawn, lift, feedback:{...}}], holdout:{users,
/// converted, conversion_rate}, p_value_vs_next, p_value_vs_holdout, winner}</c>. Counts are people. Recipients are
/// everyone assigned to the variant (also those consent or caps kept from receiving it: intent to treat, so the comparison
/// with the holdout is fair); open and click rates are over the delivered. A conversion is the campaign's event by a
/// member within <c>window_hours</c> after their delivery (after the campaign's send for the holdout and the undelivered).
/// Opted out: withdrew the consent after the delivery, or while the message was held (it is then <c>withdrawn</c>, not delivered).
/// </summary>
internal static class CampaignResults
{
    public static void Map(IEndpointRouteBuilder app) =>
        app.MapGet("/admin/v1/messaging/campaigns/{id}/results", HandleAsync).RequireOperator(OperatorRole.Owner, OperatorRole.Support).WithTags("Operator");

    private static async Task<IResult> HandleAsync(string id, CampaignStore store, Db db, CouponFacts coupons, TimeProvider clock, CancellationToken ct)
    {
        if (!Guid.TryParse(id, out var campaignId) || await store.FindAsync(campaignId, ct) is not { } row)
            return ApiProblem.NotFound("No such messaging campaign.");
        var definition = row.Definition;
        var nowUs = clock.GetUnixMicroseconds();
        List<Member> members;
        HashSet<Guid> optedOut;
        await using (var connection = await db.OpenAsync(ct))
        {
            members = (await connection.QueryAsync<Member>(new CommandDefinition("""
                SELECT m.user_id, m.variant, n.status, n.visible_at_us, n.created_at_us, n.read_at_us, n.clicked_at_us, n.feedback
                FROM messaging_campaign_members m LEFT JOIN notifications n ON n.user_id = m.user_id AND n.dedupe_key = @dedupe
                WHERE m.campaign_id = @campaignId
                """, new { campaignId, dedupe = CampaignSender.DedupeKey(campaignId) }, cancellationToken: ct))).AsList();
            optedOut = (await connection.QueryAsync<Guid>(new CommandDefinition("""
                SELECT m.user_id FROM messaging_campaign_members m JOIN notifications n ON n.user_id = m.user_id AND n.dedupe_key = @dedupe
                WHERE m.campaign_id = @campaignId AND EXISTS (SELECT 1 FROM notification_consents c WHERE c.user_id = m.user_id AND c.status = 1 AND c.at_us >= n.visible_at_us)
                """, new { campaignId, dedupe = CampaignSender.DedupeKey(campaignId) }, cancellationToken: ct))).ToHashSet();
        }

        var sentAt = row.sent_at_us;
        var events = new Dictionary<Guid, List<long>>();
        if (sentAt is { } from)
        {
            var facts = definition.Event switch
            {
                ConversionEvent.Payment => await MessagingPayments.SinceAsync(db, from, definition.Conversion.MerchantIds, ct),
                var e => await coupons.ActivityAsync(members.Select(m => m.user_id).ToList(), definition.CouponCampaignIds, e == ConversionEvent.CouponUsed, from, ct),
            };
            foreach (var (user, at) in facts)
            {
                if (!events.TryGetValue(user, out var list)) events[user] = list = [];
                list.Add(at);
            }
        }
        var window = definition.WindowUs;
        bool Converted(Member m)
        {
            if (sentAt is null || !events.TryGetValue(m.user_id, out var times)) return false;
            var start = m.Delivered(nowUs) ? m.visible_at_us!.Value : sentAt.Value;
            return times.Any(t => t >= start && t <= start + window);
        }

        var holdoutMembers = members.Where(m => m.variant is null).ToList();
        var holdout = new Arm("holdout", holdoutMembers.Count, holdoutMembers.Count(Converted));
        var arms = new List<Arm>();
        var items = new List<object>();
        foreach (var v in definition.Variants)
        {
            var mine = members.Where(m => m.variant == v.Key).ToList();
            var delivered = mine.Where(m => m.Delivered(nowUs)).ToList();
            var arm = new Arm(v.Key!, mine.Count, mine.Count(Converted));
            arms.Add(arm);
            var opened = delivered.Count(m => m.read_at_us is not null);
            var clicked = delivered.Count(m => m.clicked_at_us is not null);
            items.Add(new
            {
                key = v.Key,
                recipients = mine.Count,
                delivered = delivered.Count,
                opened,
                clicked,
                converted = arm.Converted,
                open_rate = Rate(opened, delivered.Count),
                click_rate = Rate(clicked, delivered.Count),
                conversion_rate = arm.Rate,
                capped = mine.Count(m => m.status == (short)NotificationStatus.Capped),
                held = mine.Count(m => m.status is (short)NotificationStatus.Inbox or (short)NotificationStatus.NotInInbox or (short)NotificationStatus.Withdrawn
                    && m.visible_at_us > m.created_at_us),
                // Also those whose held message was withdrawn at its release (consent withdrawn, or the sender blocked, while held).
                opted_out = mine.Count(m => optedOut.Contains(m.user_id) || m.status == (short)NotificationStatus.Withdrawn),
                // Of those, whose held message was withdrawn at its release (never delivered): counted in opted_out too.
                withdrawn = mine.Count(m => m.status == (short)NotificationStatus.Withdrawn),
                lift = CampaignStatistics.Lift(arm.Rate, holdout.Rate),
                feedback = new
                {
                    not_relevant = mine.Count(m => m.feedback == "not_relevant"),
                    too_frequent = mine.Count(m => m.feedback == "too_frequent"),
                    spam = mine.Count(m => m.feedback == "spam"),
                },
            });
        }
        var verdict = CampaignStatistics.Compare(arms, holdout);
        return Results.Json(new
        {
            variants = items,
            holdout = new { users = holdout.People, converted = holdout.Converted, conversion_rate = holdout.Rate },
            p_value_vs_next = verdict.PValueVsNext,
            p_value_vs_holdout = verdict.PValueVsHoldout,
            winner = verdict.Winner,
        }, WithNulls);
    }

    /// <summary>The results keep their nulls (<c>winner: null</c>, <c>lift: null</c> without holdout conversions).</summary>
    private static readonly System.Text.Json.JsonSerializerOptions WithNulls = new(JsonDefaults.Options)
    {
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.Never,
    };

    private static double Rate(long n, long of) => of == 0 ? 0 : (double)n / of;

    private sealed class Member
    {
        public Guid user_id { get; init; }
        public string? variant { get; init; }
        public short? status { get; init; }
        public long? visible_at_us { get; init; }
        public long? created_at_us { get; init; }
        public long? read_at_us { get; init; }
        public long? clicked_at_us { get; init; }
        public string? feedback { get; init; }

        public bool Delivered(long nowUs) =>
            status is (short)NotificationStatus.Inbox or (short)NotificationStatus.NotInInbox && visible_at_us <= nowUs;
    }
}
