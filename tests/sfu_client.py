"""A real LiveKit client for the end-to-end tests, driven over stdin/stdout.

The tests (tests/src/sfu_client.rs) start one process per simulated user. Each line on stdin is a
JSON command; each line on stdout is JSON: the reply to a command (`{"reply": <cmd>, "ok": ...}`,
in command order) or an event seen in the room (`{"event": ...}`), as they happen. The client is
the PyPI `livekit` package, whose native core (liblivekit_ffi) is the same Rust SDK the mobile and
desktop apps use: what the SFU does to it is what it does to our users' apps.

Commands:
  {"cmd": "connect", "url": ..., "token": ...}
  {"cmd": "publish", "source": "microphone" | "camera"}    publishes a live track (frames flow)
  {"cmd": "set_muted", "source": ..., "muted": bool}        the client's own mute/unmute
  {"cmd": "tracks"}                                         this client's published tracks
  {"cmd": "disconnect"}
Events: track_published / track_unpublished / track_muted / track_unmuted (remote tracks, with
`identity`, `source`, `sid`), local_track_unpublished, permissions_changed, disconnected.
"""

import asyncio
import json
import math
import sys

from livekit import rtc

# An answer to a publish request that never comes is a refusal too (the SFU may answer a
# forbidden AddTrack with NOT_ALLOWED or not at all); this bounds the wait.
PUBLISH_TIMEOUT_S = 5

SOURCES = {
    "microphone": rtc.TrackSource.SOURCE_MICROPHONE,
    "camera": rtc.TrackSource.SOURCE_CAMERA,
}
SOURCE_NAMES = {v: k for k, v in SOURCES.items()}


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def source_name(publication):
    return SOURCE_NAMES.get(publication.source, str(publication.source))


async def feed_audio(source):
    """A 440 Hz tone in 10 ms frames: RTP must flow for the SFU to consider the track live."""
    rate, n = 48000, 480
    t = 0
    while True:
        frame = rtc.AudioFrame.create(rate, 1, n)
        data = frame.data
        for i in range(n):
            data[i] = int(8000 * math.sin(2 * math.pi * 440 * (t + i) / rate))
        t += n
        await source.capture_frame(frame)


async def feed_video(source):
    w, h = 64, 64
    frame = rtc.VideoFrame(w, h, rtc.VideoBufferType.RGBA, bytes([128] * (w * h * 4)))
    while True:
        source.capture_frame(frame)
        await asyncio.sleep(1 / 15)


class Client:
    def __init__(self):
        self.room = rtc.Room()
        self.tracks = {}  # source name -> (track, feeder task)
        room = self.room

        def track_event(kind):
            # LiveKit passes (publication, participant) for publish events and the reverse for
            # mute events; each argument is told apart by its type.
            def handler(a, b):
                publication, participant = (a, b) if isinstance(b, rtc.Participant) else (b, a)
                emit({"event": kind, "identity": participant.identity,
                      "source": source_name(publication), "sid": publication.sid})
            return handler

        for kind in ("track_published", "track_unpublished", "track_muted", "track_unmuted"):
            room.on(kind, track_event(kind))
        room.on("local_track_unpublished", lambda pub: emit(
            {"event": "local_track_unpublished", "source": source_name(pub), "sid": pub.sid}))
        room.on("participant_permissions_changed", lambda participant, permission: emit(
            {"event": "permissions_changed", "identity": participant.identity,
             "can_publish": permission.can_publish,
             "sources": [SOURCE_NAMES.get(s, str(s)) for s in permission.can_publish_sources]}))
        room.on("disconnected", lambda reason: emit(
            {"event": "disconnected", "reason": rtc.DisconnectReason.Name(reason)}))

    async def connect(self, url, token):
        await self.room.connect(url, token, rtc.RoomOptions(auto_subscribe=False))
        return {"identity": self.room.local_participant.identity}

    async def publish(self, source):
        self.unpublish_local(source)
        if source == "microphone":
            src = rtc.AudioSource(48000, 1)
            track = rtc.LocalAudioTrack.create_audio_track("mic", src)
            feeder = asyncio.create_task(feed_audio(src))
        else:
            src = rtc.VideoSource(64, 64)
            track = rtc.LocalVideoTrack.create_video_track("cam", src)
            feeder = asyncio.create_task(feed_video(src))
        options = rtc.TrackPublishOptions(source=SOURCES[source])
        try:
            pub = await asyncio.wait_for(
                self.room.local_participant.publish_track(track, options), PUBLISH_TIMEOUT_S)
        except (Exception, asyncio.TimeoutError) as e:
            feeder.cancel()
            return {"ok": False, "error": f"{type(e).__name__}: {e}"}
        self.tracks[source] = (track, feeder)
        return {"sid": pub.sid}

    def unpublish_local(self, source):
        old = self.tracks.pop(source, None)
        if old:
            old[1].cancel()

    async def set_muted(self, source, muted):
        track, _ = self.tracks[source]
        track.mute() if muted else track.unmute()
        return {}

    async def published(self):
        return {"tracks": [
            {"source": source_name(p), "sid": sid, "muted": p.muted}
            for sid, p in self.room.local_participant.track_publications.items()
        ]}

    async def disconnect(self):
        await self.room.disconnect()
        return {}


async def main():
    client = Client()
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := await reader.readline():
        cmd = json.loads(line)
        name = cmd.pop("cmd")
        try:
            if name == "tracks":
                out = await client.published()
            elif name == "set_muted":
                out = await client.set_muted(**cmd)
            else:
                out = await getattr(client, name)(**cmd)
            out.setdefault("ok", True)
        except Exception as e:  # reported to the test, which decides
            out = {"ok": False, "error": f"{type(e).__name__}: {e}"}
        emit({"reply": name, **out})
    await client.room.disconnect()


if __name__ == "__main__":
    asyncio.run(main())
