from feed.api import PostOutputSerializer, post_serialize
from feed.services import post_create


def test_it_gives_the_declared_fields_of_a_post(alice):
    post = post_create(author=alice, text="now")
    assert post_serialize(post) == PostOutputSerializer(post).data


def test_it_gives_the_declared_fields_of_a_dispatched_post(alice, published):
    post = published(alice).post
    assert post_serialize(post) == PostOutputSerializer(post).data
    assert post_serialize(post)["dispatcher"] == "n1"
