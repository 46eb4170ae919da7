using Qianbao.Server.Money.Pipeline;

namespace Qianbao.Server.Modules.Complaints;

/// <summary>
/// Complaints: a user opens one about a trade or a transfer of theirs and follows its status; support operators reply
/// and resolve it (the trade's merchant reads and answers those about its trades), a refund going through the acquiring refund path. Every step is a domain event.
/// </summary>
internal static class ComplaintsModule
{
    public static IServiceCollection AddComplaintsModule(this IServiceCollection services)
    {
        services.AddSingleton<ComplaintStore>();
        services.AddSingleton<IEffectWriter, ComplaintRefundedWriter>();
        return services;
    }

    public static IEndpointRouteBuilder MapComplaintsModule(this IEndpointRouteBuilder app)
    {
        OpenComplaint.Map(app);
        GetComplaints.Map(app);
        ListComplaintsForSupport.Map(app);
        ReplyToComplaint.Map(app);
        ResolveComplaint.Map(app);
        MerchantComplaints.Map(app);
        MerchantReplyToComplaint.Map(app);
        return app;
    }
}
