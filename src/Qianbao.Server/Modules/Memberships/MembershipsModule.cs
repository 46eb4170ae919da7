using Qianbao.Server.Modules.Points;
using Qianbao.Server.Money.Events;

namespace Qianbao.Server.Modules.Memberships;

/// <summary>
/// Merchants' member programmes (created and opened through the gateway's <c>alipay.marketing.card.*</c>, joined by users
/// at <c>POST /v1/memberships</c>). Levels follow each member's 12-month spend at the merchant, kept from the trade events;
/// a level's points multiplier plugs into the points earning. No money of its own: points stay the Points module's.
/// </summary>
internal static class MembershipsModule
{
    public static IServiceCollection AddMembershipsModule(this IServiceCollection services)
    {
        services.AddSingleton<Memberships>();
        services.AddSingleton<IEventSubscriber, MembershipSpendSubscriber>();
        services.AddSingleton<IPointsMultiplier, MembershipPointsMultiplier>();
        return services;
    }

    public static IEndpointRouteBuilder MapMembershipsModule(this IEndpointRouteBuilder app)
    {
        ListMemberships.Map(app);
        JoinMembership.Map(app);
        GetMemberProgramme.Map(app);
        ListMerchantMembers.Map(app);
        return app;
    }
}
