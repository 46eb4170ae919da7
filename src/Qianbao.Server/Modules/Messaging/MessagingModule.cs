namespace Qianbao.Server.Modules.Messaging;

/// <summary>Outbound messages: the durable queue, the SMS providers (sandbox, webhook) and the templates.</summary>
internal static class MessagingModule
{
    public static IServiceCollection AddMessagingModule(this IServiceCollection services)
    {
        services.AddSingleton<MessageSignal>();
        services.AddSingleton<SmsOutbox>();
        return services;
    }

    public static IEndpointRouteBuilder MapMessagingModule(this IEndpointRouteBuilder app)
    {
        ListSandboxMessages.Map(app);
        return app;
    }
}
